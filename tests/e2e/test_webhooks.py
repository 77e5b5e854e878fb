"""Signed webhooks end to end: the real rule -> queue -> function path, a real receiver on 127.0.0.1 verifying every
delivery with the `standardwebhooks` library, and the compressed retry clock of the e2e stack (1 s back-off, 6 s
budget, 2 s answer timeout)."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from typing import Any

import jsonschema
import pytest
import requests
from faceswap_client.verification import VerifyExit, verify_bytes

from tests.conftest import EVENTS
from tests.e2e.conftest import E2E, Caller, content_type, upload
from tests.e2e.webhook_receiver import receiver

WEBHOOK_SCHEMA = json.loads((EVENTS / "schemas" / "webhook_payload.schema.json").read_text())

NOT_AN_IMAGE = b"\xff\xd8\xff this is not a JPEG"


def start_job(
    e2e: E2E, caller: Caller, webhook: dict[str, Any], *, broken: bool = False, host: str = "127.0.0.1"
) -> str:
    """A job with a webhook, both images uploaded; `broken`: the target is not an image, so the job fails."""
    target_bytes, template_bytes = e2e.photos["astronaut"], e2e.photos["grace_hopper"]
    response = caller.request(
        "POST",
        "/v1/swaps",
        json={
            "target_content_type": content_type(target_bytes),
            "template_content_type": content_type(template_bytes),
            "webhook": webhook,
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["webhook"]["status"] == "pending" and created["webhook"]["host"] == host
    assert "url" not in created["webhook"]  # the URL may carry the receiver's token: the host only
    assert upload(created["uploads"]["target"], NOT_AN_IMAGE if broken else target_bytes).status_code == 204
    assert upload(created["uploads"]["template"], template_bytes).status_code == 204
    return created["job_id"]


def webhook_state(caller: Caller, job_id: str, until: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = caller.request("GET", f"/v1/swaps/{job_id}").json()["webhook"]
        if until is None or state["status"] == until or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def dead_letters(e2e: E2E) -> list[dict[str, Any]]:
    sqs = e2e.stack.cloud.client("sqs")
    url = e2e.stack.cloud.resources["WebhookDeadLetterQueue"]
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_delivery_is_signed_and_carries_the_result(e2e: E2E):
    with receiver([e2e.stack.webhook_secret]) as rx:
        job_id = start_job(e2e, e2e.alice, {"url": rx.url + "?token=receiver-secret"})
        (delivery,) = rx.wait_for(1)
        state = webhook_state(e2e.alice, job_id, "delivered")
    assert delivery.verified_with == [e2e.stack.webhook_secret]
    assert delivery.path == "/hook?token=receiver-secret"
    assert delivery.headers["webhook-id"] == f"msg_{job_id}"
    assert abs(int(delivery.headers["webhook-timestamp"]) - delivery.received_at) < 5
    assert delivery.headers["webhook-signature"].startswith("v1,")
    assert delivery.headers["content-type"] == "application/json"
    assert len(delivery.body) <= 64 * 1024
    payload = json.loads(delivery.body)
    assert payload["type"] == "faceswap.succeeded"
    jsonschema.validate(payload, WEBHOOK_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    event = e2e.terminal_event(job_id)
    data = payload["data"]
    # The same detail as the EventBridge event, plus what it takes to fetch the result without another call.
    assert {k: v for k, v in data.items() if k not in ("result_url", "result_url_expires_at")} == event["detail"]
    assert payload["timestamp"] == event["detail"]["timings"]["completed_at"]
    image = requests.get(data["result_url"], timeout=10).content
    assert hashlib.sha256(image).hexdigest() == data["result"]["sha256"]
    # The result behind the link is labelled, and the payload says how (the same provenance as the job and event).
    assert data["provenance"]["c2pa"] and data["provenance"]["watermark_payload"] == job_id[:12]
    assert verify_bytes(image).exit_code == VerifyExit.VALID
    expires = time.mktime(time.strptime(data["result_url_expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 3000 < expires - time.time() <= 3600
    assert state == {
        "status": "delivered",
        "host": "127.0.0.1",
        "events": ["succeeded", "failed"],
        "attempts": 1,
        "last_status_code": 200,
        "last_attempt_at": state["delivered_at"],
        "delivered_at": state["delivered_at"],
    }
    # No secret, signature, receiver token or presigned URL in any log line of the webhook function.
    logs = "\n".join(
        line for record in e2e.stack.cloud.invocations if record.function == "WebhookFunction" for line in record.logs
    )
    assert "webhook attempt" in logs
    for secret_bearing in (
        e2e.stack.webhook_secret,
        e2e.stack.webhook_secret.removeprefix("whsec_"),
        delivery.headers["webhook-signature"].split(",", 1)[1],
        "receiver-secret",
        "X-Amz-Signature",
        data["result_url"].split("?")[0],
    ):
        assert secret_bearing not in logs


def test_500_twice_then_200_is_delivered_once_under_one_webhook_id(e2e: E2E):
    with receiver([e2e.stack.webhook_secret], [500, 500]) as rx:
        job_id = start_job(e2e, e2e.alice, {"url": rx.url})
        deliveries = rx.wait_for(3)
        state = webhook_state(e2e.alice, job_id, "delivered")
        time.sleep(2.5)  # longer than the back-off: nothing more may arrive
        assert len(rx.deliveries) == 3
    assert {d.headers["webhook-id"] for d in deliveries} == {f"msg_{job_id}"}
    assert all(d.verified_with for d in deliveries)
    assert deliveries[1].received_at - deliveries[0].received_at >= 0.9  # backed off, not hammered
    assert state["status"] == "delivered" and state["attempts"] == 3 and state["last_status_code"] == 200


def test_receiver_down_past_the_budget_dead_letters_then_redelivery_works(e2e: E2E):
    dead_letters(e2e)  # start from an empty dead-letter queue
    port = free_port()  # nothing listens here yet: every attempt is a connection error
    url = f"http://127.0.0.1:{port}/hook"
    job_id = start_job(e2e, e2e.alice, {"url": url})
    state = webhook_state(e2e.alice, job_id, "failed", timeout=40)
    assert state["status"] == "failed" and state["attempts"] >= 3 and state["last_status_code"] is None
    assert state["delivered_at"] is None
    parked = dead_letters(e2e)
    assert len(parked) == 1 and json.loads(parked[0]["Body"])["detail"]["job_id"] == job_id
    assert "127.0.0.1" in parked[0]["MessageAttributes"]["reason"]["StringValue"]
    with receiver([e2e.stack.webhook_secret], port=port) as rx:
        response = e2e.alice.request("POST", f"/v1/swaps/{job_id}/webhook/redeliver")
        assert response.status_code == 202, response.text
        assert response.json()["webhook"]["status"] == "pending" and response.json()["webhook"]["attempts"] == 0
        again = e2e.alice.request("POST", f"/v1/swaps/{job_id}/webhook/redeliver")
        assert again.status_code in (202, 409)  # 409 WEBHOOK_DELIVERY_PENDING unless it was already delivered
        if again.status_code == 409:
            assert again.json()["error"]["code"] == "WEBHOOK_DELIVERY_PENDING"
        (delivery, *_) = rx.wait_for(1)
        state = webhook_state(e2e.alice, job_id, "delivered")
    assert delivery.verified_with and delivery.headers["webhook-id"] == f"msg_{job_id}"
    assert state["status"] == "delivered" and state["attempts"] == 1
    # Another caller cannot see or redeliver it.
    assert e2e.bob.request("POST", f"/v1/swaps/{job_id}/webhook/redeliver").status_code == 404


def test_slow_receiver_times_out_and_is_retried(e2e: E2E):
    with receiver([e2e.stack.webhook_secret], [("sleep", 3.5, 200)]) as rx:
        job_id = start_job(e2e, e2e.alice, {"url": rx.url})
        deliveries = rx.wait_for(2)
        state = webhook_state(e2e.alice, job_id, "delivered")
    assert deliveries[0].headers["webhook-id"] == deliveries[1].headers["webhook-id"]
    assert state["attempts"] == 2 and state["last_status_code"] == 200


def test_410_gone_stops_at_once(e2e: E2E):
    with receiver([e2e.stack.webhook_secret], [410]) as rx:
        job_id = start_job(e2e, e2e.alice, {"url": rx.url})
        rx.wait_for(1)
        state = webhook_state(e2e.alice, job_id, "disabled")
        time.sleep(2.5)
        assert len(rx.deliveries) == 1
    assert state["status"] == "disabled" and state["attempts"] == 1 and state["last_status_code"] == 410


def test_redirect_is_not_followed(e2e: E2E):
    with receiver([e2e.stack.webhook_secret]) as elsewhere:
        with receiver([e2e.stack.webhook_secret], [("redirect", elsewhere.url)]) as rx:
            job_id = start_job(e2e, e2e.alice, {"url": rx.url})
            rx.wait_for(2)  # the 302 counts as a failed attempt; the retry gets a 200
            state = webhook_state(e2e.alice, job_id, "delivered")
        assert elsewhere.deliveries == []
    assert state["attempts"] == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fd00:ec2::254]/",
        "https://100.64.0.1/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://10.1/hook",  # shorthand IPv4 (10.0.0.1)
        "https://167772161/hook",  # 10.0.0.1 as one number
        "http://[fd00::1]/hook",  # the local stack allows http, but only to loopback
        "https://user:pass@example.com/hook",
        "ftp://example.com/hook",
        "https://example.com/" + "a" * 2048,
        "https://example.com/hook#fragment",
        "not a url",
    ],
)
def test_create_refuses_unsafe_webhook_urls(e2e: E2E, url: str):
    response = e2e.alice.request("POST", "/v1/swaps", json={"webhook": {"url": url}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_WEBHOOK_URL"


@pytest.mark.parametrize(
    "webhook",
    [{"url": "https://example.com/hook", "events": []}, {"url": "https://example.com/hook", "events": ["done"]}, []],
)
def test_create_refuses_malformed_webhook_objects(e2e: E2E, webhook: Any):
    response = e2e.alice.request("POST", "/v1/swaps", json={"webhook": webhook})
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_host_resolving_to_a_private_address_is_refused_at_delivery(e2e: E2E):
    """A name passes the create-time check (names are not resolved then); by delivery time its DNS answer is a
    private address, so it is refused: no connection, the round fails and is dead-lettered. The DNS answer is
    simulated for this one name inside the functions' sandboxes (the local stack's extra hosts, like
    `sam local --add-host`); every other lookup is untouched."""
    name = "hooks.rebinding.test"
    e2e.stack.cloud.add_host(name, "10.0.0.5")
    dead_letters(e2e)
    job_id = start_job(e2e, e2e.alice, {"url": f"https://{name}/hook"}, host=name)
    state = webhook_state(e2e.alice, job_id, "failed")
    assert state["status"] == "failed" and state["last_status_code"] is None and state["attempts"] == 1
    parked = dead_letters(e2e)
    assert (
        len(parked) == 1 and "10.0.0.5 is a private address" in parked[0]["MessageAttributes"]["reason"]["StringValue"]
    )


def test_secret_rotation_both_old_and_new_receivers_verify(e2e: E2E):
    old = e2e.stack.webhook_secret
    new = "whsec_" + "bmV3LXNpZ25pbmcta2V5LWZvci1yb3RhdGlvbi10ZXN0cw=="
    secrets = e2e.stack.cloud.client("secretsmanager")
    arn = e2e.stack.cloud.resources["WebhookSigningSecret"]
    secrets.put_secret_value(SecretId=arn, SecretString=f"{new} {old}")
    try:
        with receiver([old, new]) as rx:
            job_id = start_job(e2e, e2e.alice, {"url": rx.url})
            (delivery,) = rx.wait_for(1)
    finally:
        secrets.put_secret_value(SecretId=arn, SecretString=old)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    # A receiver holding only the old secret and one holding only the new one both accept the same delivery.
    assert sorted(delivery.verified_with) == sorted([old, new])
    assert webhook_state(e2e.alice, job_id, "delivered")["status"] == "delivered"


def test_failed_job_is_delivered_only_when_subscribed(e2e: E2E):
    with receiver([e2e.stack.webhook_secret]) as rx:
        subscribed = start_job(e2e, e2e.alice, {"url": rx.url, "events": ["failed"]}, broken=True)
        (delivery,) = rx.wait_for(1)
        payload = json.loads(delivery.body)
        assert payload["type"] == "faceswap.failed" and payload["data"]["job_id"] == subscribed
        assert payload["data"]["result_url"] is None and payload["data"]["error"]["code"]
        ignored = start_job(e2e, e2e.alice, {"url": rx.url, "events": ["succeeded"]}, broken=True)
        state = webhook_state(e2e.alice, ignored, "disabled")
        assert len(rx.deliveries) == 1
    assert state["status"] == "disabled" and state["attempts"] == 0
    response = e2e.alice.request("POST", f"/v1/swaps/{ignored}/webhook/redeliver")
    assert response.status_code == 409 and response.json()["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"


def test_redeliver_errors(e2e: E2E):
    plain = e2e.alice.create()
    response = e2e.alice.request("POST", f"/v1/swaps/{plain['job_id']}/webhook/redeliver")
    assert response.status_code == 409 and response.json()["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"
    waiting = e2e.alice.create(webhook={"url": "https://example.com/hook"})
    response = e2e.alice.request("POST", f"/v1/swaps/{waiting['job_id']}/webhook/redeliver")
    assert response.status_code == 409 and response.json()["error"]["code"] == "WEBHOOK_DELIVERY_PENDING"


def test_eventbridge_request_with_a_webhook(e2e: E2E):
    s3 = e2e.stack.cloud.client("s3")
    for role, photo in (("target", "astronaut"), ("template", "grace_hopper")):
        s3.put_object(Bucket=e2e.stack.bucket, Key=f"inbox/ebhook/{role}", Body=e2e.photos[photo])
    with receiver([e2e.stack.webhook_secret]) as rx:
        detail = {
            "target": {"bucket": e2e.stack.bucket, "key": "inbox/ebhook/target"},
            "template": {"bucket": e2e.stack.bucket, "key": "inbox/ebhook/template"},
            "idempotency_key": "eb-webhook-1",
            "webhook": {"url": rx.url, "events": ["succeeded"]},
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
        (delivery,) = rx.wait_for(1, timeout=40)
    payload = json.loads(delivery.body)
    assert delivery.verified_with and payload["data"]["origin"] == "eventbridge"
    assert payload["type"] == "faceswap.succeeded"


def test_eventbridge_request_with_an_unsafe_webhook_fails_the_job(e2e: E2E):
    detail = {
        "target": {"bucket": e2e.stack.bucket, "key": "inbox/x/target"},
        "template": {"bucket": e2e.stack.bucket, "key": "inbox/x/template"},
        "client_reference": "bad-hook",
        "webhook": {"url": "https://169.254.169.254/"},
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
        lambda e: e["detail"].get("client_reference") == "bad-hook" and e["detail-type"] == "FaceSwap Failed",
        timeout=40,
    )
    assert event["detail"]["error"]["code"] == "INVALID_REQUEST"
    assert "webhook.url" in event["detail"]["error"]["message"]
