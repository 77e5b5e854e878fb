"""The sample events in events/ have the shapes the functions receive, and emitted events match their schemas."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SCHEMAS = EVENTS / "schemas"
JOB_ID = "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"
BUCKET = "faceswap-123456789012-us-east-1"

SAMPLE_FILES = [
    "api_create_swap.json",
    "api_create_swap_jwt.json",
    "api_get_swap.json",
    "api_start_swap.json",
    "api_delete_swap.json",
    "s3_upload_object_created.json",
    "s3_inbox_object_created.json",
    "eventbridge_faceswap_requested.json",
    "sfn_validate.json",
    "sfn_submit.json",
    "sfn_query.json",
    "sfn_archive.json",
    "sfn_record_failure.json",
    "emitted_faceswap_succeeded.json",
    "emitted_faceswap_failed.json",
    "sqs_webhook_delivery.json",
    "webhook_faceswap_succeeded.json",
]
SCHEMA_OF_SAMPLE = {
    "eventbridge_faceswap_requested.json": "faceswap_requested",
    "emitted_faceswap_succeeded.json": "faceswap_succeeded",
    "emitted_faceswap_failed.json": "faceswap_failed",
    "webhook_faceswap_succeeded.json": "webhook_payload",
}


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{schema_name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(schema_name: str, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema_name).iter_errors(instance)]


def test_every_sample_file_is_present_and_no_unknown_ones() -> None:
    present = {p.name for p in EVENTS.glob("*.json")}
    assert present == set(SAMPLE_FILES)


@pytest.mark.parametrize(("sample", "schema_name"), sorted(SCHEMA_OF_SAMPLE.items()))
def test_sample_validates_against_its_schema(sample: str, schema_name: str) -> None:
    assert errors(schema_name, load(sample)) == []


def test_job_error_codes_in_failed_schema_match_the_architecture() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("Job error codes")[1].split("\n## ")[0]
    architecture = re.findall(r"^\| `([A-Z_]+)` \|", section, re.M)
    schema = json.loads((SCHEMAS / "faceswap_failed.schema.json").read_text())
    assert schema["$defs"]["error"]["properties"]["code"]["enum"] == architecture


@pytest.mark.parametrize(
    ("schema_name", "sample", "mutate"),
    [
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e["detail"].update(extra=1)),
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e["detail"].update(result=None)),
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e["detail"].update(status="failed")),
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e["detail"]["result"].update(sha256="x")),
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e.update({"detail-type": "Other"})),
        ("faceswap_succeeded", "emitted_faceswap_succeeded.json", lambda e: e["detail"].pop("timings")),
        ("faceswap_failed", "emitted_faceswap_failed.json", lambda e: e["detail"].update(error=None)),
        ("faceswap_failed", "emitted_faceswap_failed.json", lambda e: e["detail"]["error"].update(code="NOPE")),
        ("faceswap_failed", "emitted_faceswap_failed.json", lambda e: e["detail"].update(job_id="not-a-job")),
        ("faceswap_requested", "eventbridge_faceswap_requested.json", lambda e: e["detail"].pop("template")),
        ("faceswap_requested", "eventbridge_faceswap_requested.json", lambda e: e["detail"].update(url="x")),
        ("faceswap_requested", "eventbridge_faceswap_requested.json", lambda e: e["detail"].update(idempotency_key="")),
    ],
)
def test_schemas_are_strict(schema_name: str, sample: str, mutate: Any) -> None:
    event = copy.deepcopy(load(sample))
    mutate(event)
    assert errors(schema_name, event), "the mutated event should not validate"


def test_failed_schema_allows_a_job_that_never_reached_the_provider() -> None:
    event = load("emitted_faceswap_failed.json")
    event["detail"]["provider"]["task_id"] = None
    event["detail"]["timings"]["submitted_at"] = None
    event["detail"]["error"] = {"code": "UNSUPPORTED_IMAGE_TYPE", "message": "The target is not a JPEG or PNG."}
    assert errors("faceswap_failed", event) == []


@pytest.mark.parametrize(
    "name", ["api_create_swap.json", "api_get_swap.json", "api_start_swap.json", "api_delete_swap.json"]
)
def test_api_samples_are_payload_2_0_with_an_iam_caller(name: str) -> None:
    event = load(name)
    assert event["version"] == "2.0"
    method, route = event["routeKey"].split(" ", 1)
    assert event["requestContext"]["http"]["method"] == method
    assert event["requestContext"]["authorizer"]["iam"]["userArn"].startswith("arn:aws:")
    if "{job_id}" in route:
        assert event["pathParameters"] == {"job_id": JOB_ID}
        assert event["rawPath"] == route.replace("{job_id}", JOB_ID)


def test_create_samples_carry_a_json_body_and_the_jwt_one_a_subject() -> None:
    iam = load("api_create_swap.json")
    assert json.loads(iam["body"])["client_reference"] == "order-4711"
    assert iam["headers"]["idempotency-key"]
    jwt = load("api_create_swap_jwt.json")
    assert "iam" not in jwt["requestContext"]["authorizer"]
    assert jwt["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]


def test_s3_samples_carry_url_encoded_keys_in_the_application_bucket() -> None:
    upload = load("s3_upload_object_created.json")["Records"][0]["s3"]
    assert upload["bucket"]["name"] == BUCKET
    assert unquote_plus(upload["object"]["key"]) == f"uploads/{JOB_ID}/target"
    inbox = load("s3_inbox_object_created.json")["Records"][0]["s3"]
    raw_key = inbox["object"]["key"]
    assert raw_key != unquote_plus(raw_key), "the inbox sample must exercise key decoding"
    assert unquote_plus(raw_key) == "inbox/holiday photos (2026)/target.jpg"


def test_step_functions_samples_are_the_payloads_the_asl_sends() -> None:
    """Each workflow function receives only what its Task's Payload selects (see statemachine/face_swap.asl.json)."""
    asl = json.loads((ROOT / "statemachine" / "face_swap.asl.json").read_text())
    for state, sample in (
        ("Validate", "sfn_validate.json"),
        ("Submit", "sfn_submit.json"),
        ("Query", "sfn_query.json"),
        ("Archive", "sfn_archive.json"),
        ("RecordFailure", "sfn_record_failure.json"),
    ):
        payload_keys = {key.removesuffix(".$") for key in asl["States"][state]["Parameters"]["Payload"]}
        assert set(load(sample)) == payload_keys, sample
    assert load("sfn_archive.json")["result_url"].startswith("https://")
    failure = load("sfn_record_failure.json")["failure"]
    assert set(failure) == {"Error", "Cause"}
    cause = json.loads(failure["Cause"])
    assert cause["errorType"] == failure["Error"] == "JobFailure"


def test_webhook_payload_data_is_the_terminal_detail_plus_the_result_link() -> None:
    """The webhook schema repeats the detail schemas (receivers get one self-contained file): keep them in step."""
    payload = json.loads((SCHEMAS / "webhook_payload.schema.json").read_text())
    for variant, detail_schema in zip(payload["oneOf"], ("faceswap_succeeded", "faceswap_failed"), strict=True):
        detail = json.loads((SCHEMAS / f"{detail_schema}.schema.json").read_text())["properties"]["detail"]
        data = variant["properties"]["data"]
        assert set(data["properties"]) == set(detail["properties"]) | {"result_url", "result_url_expires_at"}
        assert {k: v for k, v in data["properties"].items() if k in detail["properties"]} == detail["properties"]
        assert set(data["required"]) == set(detail["required"]) | {"result_url", "result_url_expires_at"}


def test_webhook_sample_is_the_sample_event_detail_plus_the_link() -> None:
    sample = load("webhook_faceswap_succeeded.json")
    detail = load("emitted_faceswap_succeeded.json")["detail"]
    assert {k: v for k, v in sample["data"].items() if not k.startswith("result_url")} == detail
    sqs = load("sqs_webhook_delivery.json")["Records"][0]
    assert json.loads(sqs["body"]) == load("emitted_faceswap_succeeded.json")
    failed = {**sample, "type": "faceswap.failed"}
    assert errors("webhook_payload", failed), "a succeeded payload must not pass as failed"


def test_requested_schema_accepts_a_webhook_and_checks_it() -> None:
    event = load("eventbridge_faceswap_requested.json")
    assert event["detail"]["webhook"]["url"].startswith("https://")
    for bad in ({"url": "http://h/x"}, {"events": ["failed"]}, {"url": "https://h/x", "events": ["done"]}):
        broken = copy.deepcopy(event)
        broken["detail"]["webhook"] = bad
        assert errors("faceswap_requested", broken)
