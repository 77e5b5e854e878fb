"""Jobs that start without the API call: browser uploads, the S3 drop zone, EventBridge requests."""

from __future__ import annotations

import json

import pytest
from faceswap.adapters.job_table import JobStore
from faceswap.usecases.intake import Intake, object_keys
from faceswap.usecases.swaps import CreateSwapRequest, SwapService

from tests.conftest import load_event
from tests.unit.conftest import BUCKET, image_bytes

ALICE = "iam:arn:aws:iam::123456789012:user/alice"


def s3_event(key: str, bucket: str = BUCKET) -> dict:
    from urllib.parse import quote_plus

    return {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key, safe="/")}}}]}


def test_keys_are_url_decoded_like_s3_sends_them():
    event = load_event("s3_inbox_object_created.json")
    ((_bucket, key),) = object_keys(event)
    assert "%" not in key and "+" not in key and key.startswith("inbox/")


def test_both_uploads_start_the_job_once_even_with_duplicate_events(fake_aws):
    job_id = SwapService().create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    intake = Intake()
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/target", Body=image_bytes())
    assert intake.handle_object(BUCKET, f"uploads/{job_id}/target").action == "recorded"
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/template", Body=image_bytes("PNG"))
    actions = [
        intake.handle_object(BUCKET, f"uploads/{job_id}/{role}").action
        for _ in range(10)
        for role in ("template", "target")
    ]
    # StartExecution with the same name and input is itself idempotent (AWS answers 200 while it runs), so the
    # observable guarantee is one execution.
    assert actions[0] == "started" and set(actions[1:]) <= {"duplicate", "started"}
    assert [e["name"] for e in fake_aws.executions()] == [job_id]
    job = JobStore().get(job_id)
    assert job.status == "queued" and job.uploads["template"]["content_type"] == "image/png"


def test_an_invalid_upload_fails_the_job_starts_nothing_and_is_deleted(fake_aws):
    job_id = SwapService().create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/target", Body=b"GIF89a not really")
    outcome = Intake().handle_object(BUCKET, f"uploads/{job_id}/target")
    assert outcome.action == "rejected" and outcome.error_code == "UNSUPPORTED_IMAGE_TYPE"
    job = JobStore().get(job_id)
    assert job.status == "failed" and job.error["code"] == "UNSUPPORTED_IMAGE_TYPE"
    assert fake_aws.executions() == []
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    events = fake_aws.emitted_events()
    assert [e["detail-type"] for e in events] == ["FaceSwap Failed"]
    assert events[0]["detail"]["error"]["code"] == "UNSUPPORTED_IMAGE_TYPE"


def test_drop_zone_pair_makes_one_job_whatever_the_order_and_repeats(fake_aws):
    name = "holiday photos/2026"
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"inbox/{name}/target.jpg", Body=image_bytes())
    intake = Intake()
    assert intake.handle_object(BUCKET, f"inbox/{name}/target.jpg").action == "recorded"
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"inbox/{name}/template.PNG", Body=image_bytes("PNG"))
    outcomes = [
        intake.handle_object(*pair)
        for _ in range(10)
        for pair in object_keys(s3_event(f"inbox/{name}/template.PNG"))
        + object_keys(s3_event(f"inbox/{name}/target.jpg"))
    ]
    assert outcomes[0].action == "started"
    assert {o.job_id for o in outcomes} == {outcomes[0].job_id}
    assert len(fake_aws.executions()) == 1
    job = JobStore().get(outcomes[0].job_id)
    assert job.origin == "s3_inbox" and job.inputs["template"]["key"] == f"inbox/{name}/template.PNG"


def test_drop_zone_new_photos_under_the_same_name_make_a_new_job(fake_aws):
    intake = Intake()
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/a/target.jpg", Body=image_bytes())
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/a/template.jpg", Body=image_bytes())
    first = intake.handle_object(BUCKET, "inbox/a/template.jpg")
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/a/target.jpg", Body=image_bytes(color="blue"))
    second = intake.handle_object(BUCKET, "inbox/a/target.jpg")
    assert first.action == second.action == "started" and first.job_id != second.job_id


@pytest.mark.parametrize(
    "key",
    [
        "inbox/target.jpg",
        "inbox/a/face.jpg",
        "inbox/a/target.gif",
        "results/x.jpg",
        "uploads/../../etc/passwd",
        "uploads/ZZZ/target",
    ],
)
def test_other_keys_are_ignored(fake_aws, key):
    assert Intake().handle_object(BUCKET, key).action == "ignored"
    assert fake_aws.executions() == []


def test_eventbridge_request_starts_one_job_per_event_id(fake_aws):
    for key in ("inbox/e/target.jpg", "inbox/e/template.jpg"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=key, Body=image_bytes())
    event = load_event("eventbridge_faceswap_requested.json")
    event["detail"]["target"] = {"bucket": BUCKET, "key": "inbox/e/target.jpg"}
    event["detail"]["template"] = {"bucket": BUCKET, "key": "inbox/e/template.jpg"}
    outcomes = [Intake().handle_request_event(json.loads(json.dumps(event))) for _ in range(5)]
    assert outcomes[0].action == "started" and all(o.job_id == outcomes[0].job_id for o in outcomes)
    assert len(fake_aws.executions()) == 1


def test_eventbridge_request_outside_the_bucket_fails_with_an_event(fake_aws):
    event = {
        "id": "ev-1",
        "detail": {
            "target": {"bucket": "someone-elses", "key": "inbox/x/target.jpg"},
            "template": {"bucket": BUCKET, "key": "inbox/x/template.jpg"},
        },
    }
    outcome = Intake().handle_request_event(event)
    assert outcome.action == "rejected" and outcome.error_code == "INVALID_REQUEST"
    assert fake_aws.executions() == []
    assert [e["detail"]["error"]["code"] for e in fake_aws.emitted_events()] == ["INVALID_REQUEST"]


def test_a_late_upload_to_a_deleted_job_is_removed(fake_aws):
    service = SwapService()
    job_id = service.create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    service.delete(ALICE, job_id)
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/target", Body=image_bytes())
    assert Intake().handle_object(BUCKET, f"uploads/{job_id}/target").action == "ignored"
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert fake_aws.executions() == []


def test_eventbridge_client_reference_aws_cannot_store_is_dropped_not_fatal(fake_aws):
    reference = "ok-\ud800-lone-surrogate"  # JSON can escape a lone surrogate; DynamoDB and EventBridge cannot hold it
    for key in ("inbox/r/target.jpg", "inbox/r/template.jpg"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=key, Body=image_bytes())
    event = {
        "id": "ev-ref",
        "detail": {
            "target": {"bucket": BUCKET, "key": "inbox/r/target.jpg"},
            "template": {"bucket": BUCKET, "key": "inbox/r/template.jpg"},
            "client_reference": reference,
        },
    }
    outcome = Intake().handle_request_event(event)
    assert outcome.action == "started"
    assert JobStore().require(outcome.job_id).client_reference is None


def test_too_large_upload_states_its_real_size_in_a_human_unit(fake_aws):
    job_id = SwapService().create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    six_mib = image_bytes() + b"\0" * (6 * 1024 * 1024 - len(image_bytes()))
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/target", Body=six_mib)
    outcome = Intake().handle_object(BUCKET, f"uploads/{job_id}/target")
    assert outcome.error_code == "IMAGE_TOO_LARGE"
    message = JobStore().require(job_id).error["message"]
    assert "6.0 MiB (6,291,456 bytes)" in message and "5.0 MiB" in message, message


def test_a_failed_job_loses_both_input_photos_at_once(fake_aws):
    job_id = SwapService().create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    intake = Intake()
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/template", Body=image_bytes())
    assert intake.handle_object(BUCKET, f"uploads/{job_id}/template").action == "recorded"
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/target", Body=b"GIF89a not really")
    assert intake.handle_object(BUCKET, f"uploads/{job_id}/target").action == "rejected"
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # the valid template went too
    # A photo that arrives after the job failed is removed as well.
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/template", Body=image_bytes())
    assert intake.handle_object(BUCKET, f"uploads/{job_id}/template").action == "ignored"
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_lone_drop_zone_photo_starts_one_watch_and_fails_incomplete_once(fake_aws, monkeypatch):
    monkeypatch.setenv("INBOX_PAIR_WATCH_ARN", fake_aws.state_machine_arn)
    monkeypatch.setenv("INBOX_PAIR_TIMEOUT_SECONDS", "1800")
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/lone/target.jpg", Body=image_bytes())
    for _ in range(3):  # S3 delivers at least once
        assert Intake().handle_object(BUCKET, "inbox/lone/target.jpg").action == "recorded"
    executions = fake_aws.executions()
    assert len(executions) == 1 and executions[0]["name"].startswith("pair-")
    watch_input = json.loads(fake_aws.sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert watch_input["key"] == "inbox/lone/target.jpg" and watch_input["wait_seconds"] == 1800

    outcomes = [Intake().check_lone_photo(watch_input["key"], watch_input["etag"]) for _ in range(2)]
    assert [o.error_code for o in outcomes] == ["INPUT_INCOMPLETE"] * 2 and outcomes[0].job_id == outcomes[1].job_id
    job = JobStore().require(outcomes[0].job_id)
    assert job.status == "failed" and "30 minutes" in job.error["message"]
    failed = [e for e in fake_aws.emitted_events() if e["detail-type"] == "FaceSwap Failed"]
    assert len(failed) == 1 and failed[0]["detail"]["error"]["code"] == "INPUT_INCOMPLETE"
    assert failed[0]["detail"]["inputs"] == {
        "target": {"bucket": BUCKET, "key": "inbox/lone/target.jpg"},
        "template": None,
    }
    # The producer's photo stays in the drop zone (its lifecycle is InboxRetentionDays).
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="inbox/lone/")["KeyCount"] == 1


def test_the_pair_check_does_nothing_once_the_partner_came_or_the_photo_changed(fake_aws):
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/p/target.jpg", Body=image_bytes())
    etag = fake_aws.s3.head_object(Bucket=BUCKET, Key="inbox/p/target.jpg")["ETag"].strip('"')
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/p/template.PNG", Body=image_bytes("PNG"))
    assert Intake().check_lone_photo("inbox/p/target.jpg", etag).action == "duplicate"
    fake_aws.s3.put_object(Bucket=BUCKET, Key="inbox/q/target.jpg", Body=image_bytes())
    assert Intake().check_lone_photo("inbox/q/target.jpg", "an-older-etag").action == "ignored"
    assert Intake().check_lone_photo("inbox/gone/target.jpg", "x").action == "ignored"
    assert fake_aws.emitted_events() == []


def test_drop_zone_jobs_get_the_default_webhook(fake_aws, monkeypatch):
    monkeypatch.setenv("DEFAULT_WEBHOOK_URL", "https://hooks.example.com/drop-zone?token=t")
    for key in ("inbox/d/target.jpg", "inbox/d/template.jpg"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=key, Body=image_bytes())
    outcome = Intake().handle_object(BUCKET, "inbox/d/template.jpg")
    webhook = JobStore().get(outcome.job_id).webhook
    assert webhook["url"] == "https://hooks.example.com/drop-zone?token=t" and webhook["status"] == "pending"
    assert webhook["events"] == ["succeeded", "failed"] and webhook["host"] == "hooks.example.com"


def test_eventbridge_request_webhook_wins_over_the_default_and_is_checked(fake_aws, monkeypatch):
    monkeypatch.setenv("DEFAULT_WEBHOOK_URL", "https://hooks.example.com/default")
    for key in ("inbox/w/target.jpg", "inbox/w/template.jpg"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=key, Body=image_bytes())
    event = load_event("eventbridge_faceswap_requested.json")
    event["detail"]["target"] = {"bucket": BUCKET, "key": "inbox/w/target.jpg"}
    event["detail"]["template"] = {"bucket": BUCKET, "key": "inbox/w/template.jpg"}
    event["detail"]["webhook"] = {"url": "https://partner.example/hook", "events": ["failed"]}
    outcome = Intake().handle_request_event(event)
    webhook = JobStore().get(outcome.job_id).webhook
    assert outcome.action == "started" and webhook["url"] == "https://partner.example/hook"
    assert webhook["events"] == ["failed"]
    event["id"], event["detail"]["idempotency_key"] = "ev-unsafe", "unsafe-hook"
    event["detail"]["webhook"] = {"url": "https://169.254.169.254/latest/meta-data/"}
    outcome = Intake().handle_request_event(event)
    assert outcome.action == "rejected" and outcome.error_code == "INVALID_REQUEST"
    error = JobStore().get(outcome.job_id).error
    assert error["code"] == "INVALID_REQUEST" and "webhook.url" in error["message"]


def test_without_a_default_system_jobs_have_no_webhook(fake_aws):
    for key in ("inbox/n/target.jpg", "inbox/n/template.jpg"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=key, Body=image_bytes())
    outcome = Intake().handle_object(BUCKET, "inbox/n/template.jpg")
    assert JobStore().get(outcome.job_id).webhook is None
