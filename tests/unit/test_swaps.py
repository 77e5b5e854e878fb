"""The API use cases against moto: job creation with presigned forms, idempotency, ownership, start, delete."""

from __future__ import annotations

import base64
import json

import pytest
from faceswap.adapters.job_table import JobStore
from faceswap.domain.errors import ApiError
from faceswap.usecases.swaps import CreateSwapRequest, SwapService, check_idempotency_key, parse_create_request

from tests.unit.conftest import BUCKET, image_bytes

ALICE = "iam:arn:aws:iam::123456789012:user/alice"
BOB = "iam:arn:aws:iam::123456789012:user/bob"


def upload(fake_aws, job_id: str) -> None:
    for role in ("target", "template"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/{role}", Body=image_bytes())


def test_create_returns_presigned_post_forms_with_the_documented_policy(fake_aws):
    view, replayed = SwapService().create(ALICE, CreateSwapRequest(template_content_type="image/png"), None)
    assert not replayed and view["status"] == "awaiting_upload"
    for role, content_type in (("target", "image/jpeg"), ("template", "image/png")):
        form = view["uploads"][role]
        fields = form["fields"]
        assert fields["key"] == f"uploads/{view['job_id']}/{role}"
        assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4, not the SigV2 default
        policy = json.loads(base64.b64decode(fields["policy"]))
        assert {"key": f"uploads/{view['job_id']}/{role}"} in policy["conditions"]
        assert {"Content-Type": content_type} in policy["conditions"]
        assert ["content-length-range", 1, 5 * 1024 * 1024] in policy["conditions"]
        assert form["max_bytes"] == 5 * 1024 * 1024 and form["content_type"] == content_type
        # Expiry at most 15 minutes
        from datetime import UTC, datetime

        expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert (expires - datetime.now(UTC)).total_seconds() <= 900


def test_idempotency_key_returns_the_same_job_and_rejects_a_different_body(fake_aws):
    service = SwapService()
    first, _ = service.create(ALICE, CreateSwapRequest(client_reference="a"), "key-1")
    again, replayed = service.create(ALICE, CreateSwapRequest(client_reference="a"), "key-1")
    assert replayed and again["job_id"] == first["job_id"]
    with pytest.raises(ApiError) as error:
        service.create(ALICE, CreateSwapRequest(client_reference="b"), "key-1")
    assert error.value.code == "IDEMPOTENCY_KEY_REUSED" and error.value.status == 422
    other, _ = service.create(BOB, CreateSwapRequest(client_reference="a"), "key-1")
    assert other["job_id"] != first["job_id"]  # keys are per caller
    assert len(fake_aws.dynamodb.scan(TableName="faceswap-jobs")["Items"]) == 2


def test_another_caller_gets_404_on_every_route(fake_aws):
    service = SwapService()
    view, _ = service.create(ALICE, CreateSwapRequest(), None)
    for call in (service.get, service.start, service.delete):
        with pytest.raises(ApiError) as error:
            call(BOB, view["job_id"])
        assert error.value.status == 404 and error.value.code == "JOB_NOT_FOUND"


def test_start_requires_both_uploads_then_is_harmless_to_repeat(fake_aws):
    service = SwapService()
    job_id = service.create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    with pytest.raises(ApiError) as error:
        service.start(ALICE, job_id)
    assert error.value.code == "UPLOADS_INCOMPLETE"
    upload(fake_aws, job_id)
    assert service.start(ALICE, job_id)["status"] == "queued"
    assert service.start(ALICE, job_id)["status"] == "queued"
    executions = fake_aws.executions()
    assert [e["name"] for e in executions] == [job_id]


def test_delete_removes_inputs_and_hides_the_job(fake_aws):
    service = SwapService()
    job_id = service.create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    upload(fake_aws, job_id)
    assert service.delete(ALICE, job_id) == {"job_id": job_id, "status": "deleted"}
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    with pytest.raises(ApiError):
        service.get(ALICE, job_id)


def test_delete_is_refused_while_the_job_runs(fake_aws):
    service = SwapService()
    job_id = service.create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    upload(fake_aws, job_id)
    service.start(ALICE, job_id)
    with pytest.raises(ApiError) as error:
        service.delete(ALICE, job_id)
    assert error.value.code == "JOB_IN_PROGRESS"


def test_succeeded_job_view_has_a_presigned_result_url(fake_aws):
    service = SwapService()
    job_id = service.create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    store = JobStore()
    upload(fake_aws, job_id)
    store.mark_queued(job_id)
    store.begin_submit(job_id, "attempt-1")
    store.record_submitted(job_id, "ailabtools", "task-1")
    store.mark_succeeded(
        job_id,
        {
            "bucket": BUCKET,
            "key": f"results/{job_id}.jpg",
            "sha256": "ab" * 32,
            "size": 10,
            "content_type": "image/jpeg",
        },
    )
    view = service.get(ALICE, job_id)
    assert view["status"] == "succeeded"
    assert f"results/{job_id}.jpg" in view["result"]["url"] and "X-Amz-Signature" in view["result"]["url"]
    assert view["result"]["sha256"] == "ab" * 32


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        ("{not json", "application/json", "MALFORMED_JSON"),
        ("[1, 2]", "application/json", "MALFORMED_JSON"),
        ('{"client_reference": 5}', "application/json", "VALIDATION_ERROR"),
        ('{"surprise": true}', "application/json", "VALIDATION_ERROR"),
        ('{"client_reference": ""}', "application/json", "VALIDATION_ERROR"),
        ('{"target_content_type": "image/gif"}', "application/json", "UNSUPPORTED_MEDIA_TYPE"),
        ("{}", "text/plain", "UNSUPPORTED_MEDIA_TYPE"),
        ('{"client_reference": "' + "x" * 20000 + '"}', "application/json", "PAYLOAD_TOO_LARGE"),
        ("[" * 5000 + "]" * 5000, "application/json", "MALFORMED_JSON"),
    ],
)
def test_bad_bodies_get_stable_codes(body, content_type, code):
    with pytest.raises(ApiError) as error:
        parse_create_request(body, content_type)
    assert error.value.code == code


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "caf\u00e9", "tab\tkey"])
def test_bad_idempotency_keys_are_refused(key):
    with pytest.raises(ApiError) as error:
        check_idempotency_key(key)
    assert error.value.code == "INVALID_IDEMPOTENCY_KEY"


def test_create_with_a_webhook_shows_only_its_host_and_counts_in_the_idempotency_fingerprint(fake_aws):
    service = SwapService()
    body = '{"webhook": {"url": "https://hooks.example.com/x?token=secret"}}'
    view, _ = service.create(ALICE, parse_create_request(body, "application/json"), "key-1")
    assert view["webhook"] == {
        "status": "pending",
        "host": "hooks.example.com",
        "events": ["succeeded", "failed"],
        "attempts": 0,
        "last_status_code": None,
        "last_attempt_at": None,
        "delivered_at": None,
    }
    assert "secret" not in json.dumps(view)
    other = parse_create_request('{"webhook": {"url": "https://hooks.example.com/y"}}', "application/json")
    with pytest.raises(ApiError) as raised:
        service.create(ALICE, other, "key-1")
    assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"
    plain, _ = service.create(ALICE, CreateSwapRequest(), None)
    assert plain["webhook"] is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"webhook": {"url": "https://10.0.0.1/x"}}', "INVALID_WEBHOOK_URL"),
        ('{"webhook": {"url": "http://hooks.example.com/x"}}', "INVALID_WEBHOOK_URL"),
        ('{"webhook": {"url": "https://hooks.example.com/x", "events": []}}', "VALIDATION_ERROR"),
        ('{"webhook": null}', "VALIDATION_ERROR"),
    ],
)
def test_bad_webhooks_are_refused(body, code):
    with pytest.raises(ApiError) as raised:
        parse_create_request(body, "application/json")
    assert raised.value.code == code and raised.value.status == 422


def test_redelivery_needs_a_finished_round(fake_aws):
    service = SwapService()
    plain, _ = service.create(ALICE, CreateSwapRequest(), None)
    with pytest.raises(ApiError) as raised:
        service.redeliver_webhook(ALICE, plain["job_id"])
    assert raised.value.code == "WEBHOOK_NOT_CONFIGURED"
    hooked, _ = service.create(
        ALICE, parse_create_request('{"webhook": {"url": "https://h.example/x"}}', "application/json"), None
    )
    with pytest.raises(ApiError) as raised:
        service.redeliver_webhook(ALICE, hooked["job_id"])
    assert raised.value.code == "WEBHOOK_DELIVERY_PENDING" and raised.value.status == 409
    with pytest.raises(ApiError) as raised:
        service.redeliver_webhook("someone-else", hooked["job_id"])
    assert raised.value.code == "JOB_NOT_FOUND"
