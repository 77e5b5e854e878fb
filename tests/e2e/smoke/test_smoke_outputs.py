"""Where `faceswap smoke` finds the stack: its CloudFormation outputs (any region) or a JSON file."""

from __future__ import annotations

import json

import boto3
import pytest
from faceswap_client.smoke import Check, SmokeReport, outputs_from_cloudformation, outputs_from_file
from moto import mock_aws

TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        "ApiUrl": {"Value": "https://abc123.execute-api.af-south-1.amazonaws.com"},
        "BucketName": {"Value": "faceswap-123456789012-af-south-1"},
    },
}


def test_outputs_come_from_the_named_stack_in_the_given_region(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        session = boto3.session.Session(region_name="af-south-1")
        session.client("cloudformation").create_stack(StackName="my-swaps", TemplateBody=json.dumps(TEMPLATE))
        outputs = outputs_from_cloudformation("my-swaps", session)
    assert outputs == {
        "ApiUrl": "https://abc123.execute-api.af-south-1.amazonaws.com",
        "BucketName": "faceswap-123456789012-af-south-1",
        "Region": "af-south-1",
    }


def test_outputs_file_must_be_an_object(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"ApiUrl": "http://127.0.0.1:3000", "AwsEndpointUrl": None}))
    assert outputs_from_file(path) == {"ApiUrl": "http://127.0.0.1:3000"}
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        outputs_from_file(path)


def test_the_report_fails_on_any_failed_check_and_not_on_skips():
    report = SmokeReport([Check("a", "PASS"), Check("b", "SKIP", "not allowed")])
    assert report.passed and report.table().endswith("all checks passed")
    report.checks.append(Check("c", "FAIL", "HTTP 500"))
    assert not report.passed and "c  FAIL    HTTP 500" in report.table()
    assert not SmokeReport().passed
