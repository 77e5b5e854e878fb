"""Every S3 link the API hands out, in every kind of region: the bucket's regional virtual-hosted address and a SigV4
signature scoped to that region (tests/s3_links.py). The default boto3 client presigns against the global
s3.amazonaws.com, which af-south-1 / ap-east-1 refuse and other regions redirect for a day after bucket creation."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests
from faceswap.adapters import aws_clients
from faceswap.adapters.job_table import JobStore
from faceswap.usecases.swaps import CreateSwapRequest, SwapService
from moto import mock_aws

from tests.s3_links import assert_regional_s3_link
from tests.unit.conftest import image_bytes

# us-east-1 (the global endpoint's home), an older region (307 redirects), two opt-in regions opened after March 2019
# (HTTP 400 on the global endpoint).
REGIONS = ["us-east-1", "eu-west-1", "af-south-1", "ap-east-1"]
OWNER = "iam:arn:aws:iam::123456789012:user/alice"
TABLE = "faceswap-jobs"


@pytest.fixture(params=REGIONS)
def region_stack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """(region, bucket, the signer's secret key) with the app's bucket and table in moto in that region."""
    region = request.param
    bucket = f"faceswap-123456789012-{region}"
    for name, value in {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "JOBS_TABLE": TABLE,
        "BUCKET_NAME": bucket,
        "EVENT_BUS_NAME": "faceswap-bus",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        aws_clients.reset_clients()
        s3 = boto3.client("s3", region_name=region)
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **location)
        boto3.client("dynamodb", region_name=region).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # mock_aws lends its own fake credentials; the signatures are made with them.
        yield region, bucket, boto3.session.Session().get_credentials().secret_key
        aws_clients.reset_clients()


def test_upload_forms_and_result_links_use_the_regional_endpoint(region_stack):
    region, bucket, secret_key = region_stack
    service = SwapService()
    created, _ = service.create(OWNER, CreateSwapRequest(template_content_type="image/png"), None)
    job_id = created["job_id"]
    for role in ("target", "template"):
        form = created["uploads"][role]
        assert_regional_s3_link(form, bucket=bucket, region=region, secret_key=secret_key)
        # The form really lands in that bucket (moto serves the regional virtual-hosted address).
        content_type = form["fields"]["Content-Type"]
        answer = requests.post(
            form["url"], data=form["fields"], files={"file": ("photo", image_bytes(), content_type)}, timeout=10
        )
        assert answer.status_code in (200, 201, 204), answer.text

    store = JobStore()
    store.mark_queued(job_id)
    store.record_submitted(job_id, "ailabtools", "task-1")
    result_key = f"results/{job_id}.png"
    boto3.client("s3", region_name=region).put_object(Bucket=bucket, Key=result_key, Body=b"result-bytes")
    result = {"bucket": bucket, "key": result_key, "sha256": "0" * 64, "size": 12, "content_type": "image/png"}
    store.mark_succeeded(job_id, result)

    view = service.get(OWNER, job_id)
    assert_regional_s3_link(view["result"]["url"], bucket=bucket, region=region, secret_key=secret_key)
    assert requests.get(view["result"]["url"], timeout=10).content == b"result-bytes"


def test_a_custom_endpoint_keeps_path_style_links(region_stack, monkeypatch):
    """The local stack serves S3 on 127.0.0.1: links must point there, bucket in the path."""
    region, bucket, _ = region_stack
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    aws_clients.reset_clients()
    form = SwapService().storage.presigned_upload("uploads/x/target", "image/jpeg", 60)
    assert form["url"] == f"http://127.0.0.1:4566/{bucket}"
    url, _ = SwapService().storage.presigned_download("results/x.png", 60)
    assert url.startswith(f"http://127.0.0.1:4566/{bucket}/results/x.png?")
    assert f"/{region}/s3/aws4_request" in requests.utils.unquote(url)


def test_the_checker_refuses_the_global_endpoint_and_a_wrong_scope(region_stack):
    """The checker itself: what boto3 produces without the regional configuration fails it."""
    region, bucket, secret_key = region_stack
    default_client = boto3.session.Session().client(
        "s3", region_name=region, config=boto3.session.Config(signature_version="s3v4")
    )
    url = default_client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    form = default_client.generate_presigned_post(Bucket=bucket, Key="k", ExpiresIn=60)
    for link in (url, form):
        with pytest.raises(AssertionError, match="is not"):
            assert_regional_s3_link(link, bucket=bucket, region=region, secret_key=secret_key)
    other = "eu-central-1"
    wrong_scope = boto3.session.Session().client(
        "s3",
        region_name=other,
        endpoint_url=f"https://s3.{region}.amazonaws.com",
        config=boto3.session.Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    url = wrong_scope.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    with pytest.raises(AssertionError, match="scope"):
        assert_regional_s3_link(url, bucket=bucket, region=region, secret_key=secret_key)
    good = aws_clients.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    with pytest.raises(AssertionError, match="does not verify"):
        assert_regional_s3_link(good, bucket=bucket, region=region, secret_key="another-secret")
