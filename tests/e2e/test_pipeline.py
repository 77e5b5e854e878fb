"""The real state machine with the real handlers, driven over HTTP and S3 like users drive it."""

from __future__ import annotations

import json
import time

import requests
from faceswap.provenance import DIGITAL_SOURCE_TYPE
from faceswap_client.verification import verify_bytes

from tests.e2e.conftest import E2E, assert_valid_event, content_type, sha256, upload


def test_happy_path_through_presigned_uploads(e2e: E2E):
    before = e2e.accepted()
    job_id = e2e.submit_via_api()
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Succeeded" and event["source"] == "faceswap"
    assert_valid_event(event)
    record = e2e.finished(job_id)
    assert record["status"] == "succeeded" and record["terminal_event_sent"] is True
    body, metadata = e2e.s3_object(f"results/{job_id}.png")  # the target is a PNG: the result keeps its format
    assert sha256(body) == record["result"]["sha256"] == metadata["sha256"] == event["detail"]["result"]["sha256"]
    assert metadata["job-id"] == job_id and metadata["provider-task-id"] == record["provider_task_id"]
    task = next(t for t in e2e.emulator.stats()["tasks"] if t["task_id"] == record["provider_task_id"])
    # The stored object is the provider's result, labelled: its own hash, and the provider's kept beside it.
    provider_sha256 = task["result_sha256"]
    assert provider_sha256 != sha256(body)
    assert provider_sha256 == record["result"]["provider_sha256"] == metadata["provider-sha256"]
    assert event["detail"]["result"]["provider_sha256"] == provider_sha256
    assert (
        event["detail"]["provenance"]
        == record["provenance"]
        == {
            "c2pa": True,
            "xmp": True,
            "watermark": True,
            "digital_source_type": DIGITAL_SOURCE_TYPE,
            "watermark_payload": job_id[:12],
        }
    )
    report = verify_bytes(body)
    assert report.manifest.state == "valid" and report.manifest.job_id == job_id
    assert report.watermark_found and report.watermark_payload == job_id[:12]
    assert report.xmp_digital_source_type == DIGITAL_SOURCE_TYPE
    assert e2e.accepted() - before == 1
    assert e2e.states_entered(job_id)[:3] == ["Validate", "Submit", "WaitForProvider"]
    assert e2e.states_entered(job_id)[-2:] == ["CheckProgress", "Archive"]  # the workflow ends at Archive
    job = e2e.alice.request("GET", f"/v1/swaps/{job_id}").json()
    assert job["status"] == "succeeded" and job["result"]["sha256"] == sha256(body)
    assert job["provenance"] == record["provenance"] and job["result"]["provider_sha256"] == provider_sha256
    assert requests.get(job["result"]["url"], timeout=10).content == body
    assert body != e2e.photos["astronaut"]


def test_drop_zone_pair_starts_one_job(e2e: E2E):
    s3 = e2e.stack.cloud.client("s3")
    name = "partner uploads/batch 7"
    s3.put_object(Bucket=e2e.stack.bucket, Key=f"inbox/{name}/target.jpg", Body=e2e.photos["grace_hopper"])
    s3.put_object(Bucket=e2e.stack.bucket, Key=f"inbox/{name}/template.png", Body=e2e.photos["astronaut"])
    event = e2e.stack.events.wait_for(
        lambda e: (
            e["detail"].get("origin") == "s3_inbox"
            and (e["detail"]["inputs"]["target"] or {}).get("key", "").startswith(f"inbox/{name}/")
        ),
        timeout=40,
    )
    assert event["detail-type"] == "FaceSwap Succeeded", event
    assert_valid_event(event)
    assert event["detail"]["result"]["key"] == f"results/{event['detail']['job_id']}.jpg"


def test_eventbridge_request_starts_a_job(e2e: E2E):
    s3 = e2e.stack.cloud.client("s3")
    for role, photo in (("target", "astronaut"), ("template", "grace_hopper")):
        s3.put_object(Bucket=e2e.stack.bucket, Key=f"inbox/eb/{role}", Body=e2e.photos[photo])
    detail = {
        "target": {"bucket": e2e.stack.bucket, "key": "inbox/eb/target"},
        "template": {"bucket": e2e.stack.bucket, "key": "inbox/eb/template"},
        "client_reference": "crm-42",
        "idempotency_key": "eb-request-1",
    }
    e2e.stack.cloud.client("events").put_events(
        Entries=[
            {
                "Source": "partner.crm",
                "DetailType": "FaceSwap Requested",
                "Detail": json.dumps(detail),
                "EventBusName": e2e.stack.cloud.resources["EventBus"],
            }
        ]
    )
    event = e2e.stack.events.wait_for(
        lambda e: e["detail"].get("client_reference") == "crm-42" and e["detail-type"] != "FaceSwap Requested",
        timeout=40,
    )
    assert event["detail-type"] == "FaceSwap Succeeded" and event["detail"]["origin"] == "eventbridge"


def test_invalid_image_fails_the_job_without_spending_credits(e2e: E2E):
    before = e2e.accepted()
    created = e2e.alice.create()
    truncated = e2e.photos["grace_hopper"][: len(e2e.photos["grace_hopper"]) // 3]
    assert upload(created["uploads"]["target"], truncated).status_code == 204  # local S3 does not check content
    event = e2e.terminal_event(created["job_id"])
    assert event["detail-type"] == "FaceSwap Failed"
    assert event["detail"]["error"]["code"] == "IMAGE_DECODE_FAILED"
    assert_valid_event(event)
    job = e2e.alice.request("GET", f"/v1/swaps/{created['job_id']}").json()
    assert job["status"] == "failed" and job["error"]["code"] == "IMAGE_DECODE_FAILED"
    assert e2e.accepted() == before
    executions = e2e.stack.cloud.client("stepfunctions").list_executions(
        stateMachineArn=e2e.stack.cloud.resources["FaceSwapStateMachine"]
    )["executions"]
    assert created["job_id"] not in {e["name"] for e in executions}


def test_provider_rejects_the_face(e2e: E2E):
    e2e.emulator.faults.add("query", "task_failed", code="ERROR_NO_FACE_IN_FILE")
    job_id = e2e.submit_via_api()
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Failed" and event["detail"]["error"]["code"] == "FACE_NOT_FOUND"
    assert e2e.finished(job_id)["error"]["code"] == "FACE_NOT_FOUND"
    assert "RecordFailure" in e2e.states_entered(job_id)


def test_transient_faults_then_success(e2e: E2E):
    before = e2e.accepted()
    e2e.emulator.faults.add("submit", "http_429", times=2)
    e2e.emulator.faults.add("query", "http_503", times=2)
    job_id = e2e.submit_via_api()
    assert e2e.terminal_event(job_id)["detail-type"] == "FaceSwap Succeeded"
    history = e2e.stack.cloud.execution_history(job_id)
    failed_tasks = [e for e in history if e["type"] == "TaskFailed"]
    assert len(failed_tasks) >= 4  # two refused submits and two failed polls, each retried by the state machine
    assert e2e.accepted() - before == 1


def test_retries_exhausted(e2e: E2E):
    e2e.emulator.faults.add("query", "http_500")
    job_id = e2e.submit_via_api()
    event = e2e.terminal_event(job_id, timeout=60)
    assert event["detail"]["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert e2e.stack.cloud.wait_execution(job_id, 10)["status"] == "FAILED"


def test_deadline_passed(e2e: E2E):
    e2e.emulator.faults.add("query", "never_finish")
    job_id = e2e.submit_via_api()
    deadline = time.monotonic() + 20
    while (e2e.stack.job_record(job_id) or {}).get("status") != "processing" and time.monotonic() < deadline:
        time.sleep(0.05)
    e2e.stack.cloud.client("dynamodb").update_item(
        TableName=e2e.stack.table,
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET deadline_at = :now",
        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
    )
    event = e2e.terminal_event(job_id)
    assert event["detail"]["error"]["code"] == "JOB_TIMED_OUT"


def test_duplicate_s3_events_and_repeated_starts_submit_once(e2e: E2E):
    before = e2e.accepted()
    job_id = e2e.submit_via_api()
    notification = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": e2e.stack.bucket}, "object": {"key": f"uploads/{job_id}/template"}},
            }
        ]
    }
    for _ in range(10):
        e2e.stack.cloud.invoke("UploadTriggerFunction", notification)
    statuses = [e2e.alice.request("POST", f"/v1/swaps/{job_id}/start").status_code for _ in range(5)]
    assert set(statuses) == {202}
    assert e2e.terminal_event(job_id)["detail-type"] == "FaceSwap Succeeded"
    time.sleep(0.3)
    assert e2e.accepted() - before == 1
    assert len([e for e in e2e.events_for(job_id) if e["detail-type"].startswith("FaceSwap ")]) == 1


def test_another_caller_gets_404_everywhere(e2e: E2E):
    created = e2e.alice.create()
    job_id = created["job_id"]
    for method, path in (
        ("GET", f"/v1/swaps/{job_id}"),
        ("POST", f"/v1/swaps/{job_id}/start"),
        ("DELETE", f"/v1/swaps/{job_id}"),
    ):
        response = e2e.bob.request(method, path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "JOB_NOT_FOUND"
    anonymous = e2e.alice.request("GET", f"/v1/swaps/{job_id}", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_delete_removes_inputs_and_result(e2e: E2E):
    job_id = e2e.submit_via_api()
    assert e2e.terminal_event(job_id)["detail-type"] == "FaceSwap Succeeded"
    e2e.finished(job_id)
    response = e2e.alice.request("DELETE", f"/v1/swaps/{job_id}")
    assert response.status_code == 200 and response.json() == {"job_id": job_id, "status": "deleted"}
    listing = e2e.stack.cloud.client("s3").list_objects_v2(Bucket=e2e.stack.bucket)
    keys = {item["Key"] for item in listing.get("Contents", [])}
    assert not any(job_id in key for key in keys)
    assert e2e.alice.request("GET", f"/v1/swaps/{job_id}").status_code == 404


def test_idempotency_key_over_http(e2e: E2E):
    headers = {"Idempotency-Key": "checkout-991"}
    first = e2e.alice.request("POST", "/v1/swaps", json={}, headers=dict(headers))
    second = e2e.alice.request("POST", "/v1/swaps", json={}, headers=dict(headers))
    assert first.status_code == second.status_code == 201
    assert first.json()["job_id"] == second.json()["job_id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert content_type(b"\x89PNG") == "image/png"
