"""The delivery use case on moto: claiming, outcomes, back-off, the budget and dead letters, redelivery rounds."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from faceswap.adapters import webhook_queue
from faceswap.adapters.job_table import FAILED, SUCCEEDED, JobStore, new_job
from faceswap.adapters.webhook_sender import AttemptResult
from faceswap.domain import webhooks
from faceswap.domain.clock import iso, parse_iso
from faceswap.domain.webhook_urls import WebhookRequest
from faceswap.usecases.webhooks import DEAD_LETTER, DONE, RETRY, QueueMessage, WebhookDelivery, apply_verdict

from tests.unit.conftest import BUCKET, REGION

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLXVuaXQtdGVzdHMhIQ=="
T0 = time.time()  # presigned URLs and signatures are dated by the real clock: reset before each test (below)


class FakeSender:
    def __init__(self, *results: AttemptResult) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, bytes, dict]] = []

    def __call__(self, url: str, body: bytes, headers: dict, **kwargs) -> AttemptResult:
        self.calls.append((url, body, headers))
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def now_is_the_start() -> None:
    """Receivers refuse signatures more than 5 minutes old, and a whole suite takes longer than that."""
    global T0
    T0 = time.time()


@pytest.fixture
def setup(fake_aws, monkeypatch):
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "5")
    monkeypatch.setenv("WEBHOOK_RETRY_CAP_SECONDS", "36000")
    monkeypatch.setenv("WEBHOOK_RETRY_BUDGET_SECONDS", "86400")
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="webhooks")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="webhooks-dlq")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_DEAD_LETTER_QUEUE_URL", dlq)
    store = JobStore()
    return {"store": store, "sqs": sqs, "queue": queue, "dlq": dlq}


def finished_job(store: JobStore, status: str = SUCCEEDED, events: tuple[str, ...] = ("succeeded", "failed")) -> str:
    job_id = "f" * 32
    job = new_job(
        job_id=job_id,
        owner="o",
        origin="api",
        inputs={r: {"bucket": BUCKET, "key": f"uploads/{job_id}/{r}"} for r in ("target", "template")},
        status=status,
        webhook=webhooks.initial_state(WebhookRequest("https://hooks.example.com/x", events, "hooks.example.com")),
    )
    job.completed_at = iso(T0 - 10)
    if status == SUCCEEDED:
        job.result = {"bucket": BUCKET, "key": f"results/{job_id}.jpg", "sha256": "0" * 64, "size": 3,
                      "content_type": "image/jpeg"}  # fmt: skip
    else:
        job.error = {"code": "FACE_NOT_FOUND", "message": "no face"}
    store.create(job)
    return job_id


def event_message(job_id: str, status: str = "Succeeded", message_id: str = "m-1") -> QueueMessage:
    body = json.dumps({"detail-type": f"FaceSwap {status}", "detail": {"job_id": job_id}})
    return QueueMessage(message_id, body, "receipt")


def service(sender: FakeSender, clock: Clock) -> WebhookDelivery:
    return WebhookDelivery(send=sender, signing_secrets=lambda: [SECRET], clock=clock, rng=lambda: 1.0)


def test_success_records_delivered_and_signs_a_verifiable_body(setup):
    from standardwebhooks import Webhook

    store = setup["store"]
    job_id = finished_job(store)
    sender = FakeSender(AttemptResult("delivered", 200, None))
    verdict = service(sender, Clock()).handle(event_message(job_id))
    assert verdict.action == DONE and verdict.attempts == 1
    url, body, headers = sender.calls[0]
    assert url == "https://hooks.example.com/x" and headers["webhook-id"] == f"msg_{job_id}"
    payload = Webhook(SECRET).verify(body, headers)
    assert payload["type"] == "faceswap.succeeded" and payload["data"]["result_url"].startswith("https://")
    assert abs(parse_iso(payload["data"]["result_url_expires_at"]) - (time.time() + 3600)) < 5
    hook = store.get(job_id).webhook
    assert hook["status"] == "delivered" and hook["attempts"] == 1 and hook["delivered_at"] == iso(T0)


def test_failures_back_off_then_give_up_after_the_budget(setup):
    store, clock = setup["store"], Clock()
    job_id = finished_job(store)
    sender = FakeSender(AttemptResult("retry", 500, "hooks.example.com answered 500"))
    delivery = service(sender, clock)
    delays = []
    while True:
        verdict = delivery.handle(event_message(job_id))
        if verdict.action != RETRY:
            break
        delays.append(verdict.delay_seconds)
        assert store.get(job_id).webhook["status"] == "pending"
        clock.now += verdict.delay_seconds
    assert verdict.action == DEAD_LETTER and "answered 500" in verdict.reason
    assert delays[:4] == [5, 10, 20, 40] and max(delays) == 36000  # rng = 1.0: the top of each jitter range
    assert clock.now - T0 >= 86400
    hook = store.get(job_id).webhook
    assert hook["status"] == "failed" and hook["attempts"] == len(delays) + 1 and hook["last_status_code"] == 500
    assert len({call[2]["webhook-id"] for call in sender.calls}) == 1


def test_gone_disables_and_refused_dead_letters(setup):
    store = setup["store"]
    job_id = finished_job(store)
    verdict = service(FakeSender(AttemptResult("gone", 410, None)), Clock()).handle(event_message(job_id))
    assert verdict.action == DONE and store.get(job_id).webhook["status"] == "disabled"
    other = "e" * 32
    store.create(
        new_job(
            job_id=other, owner="o", origin="api", inputs={}, status=FAILED,
            webhook=webhooks.initial_state(WebhookRequest("https://h.example/x", ("failed",), "h.example")),
        )
    )  # fmt: skip
    refused = AttemptResult("refused", None, "refusing h.example: 10.0.0.5 is a private address")
    verdict = service(FakeSender(refused), Clock()).handle(event_message(other, "Failed"))
    assert verdict.action == DEAD_LETTER and store.get(other).webhook["status"] == "failed"


def test_duplicates_and_unsubscribed_events_send_nothing(setup):
    store = setup["store"]
    job_id = finished_job(store, events=("failed",))
    sender = FakeSender(AttemptResult("delivered", 200, None))
    verdict = service(sender, Clock()).handle(event_message(job_id))
    assert verdict.action == DONE and sender.calls == [] and store.get(job_id).webhook["status"] == "disabled"


def test_a_second_message_for_the_same_round_is_dropped(setup):
    store = setup["store"]
    job_id = finished_job(store)
    sender = FakeSender(AttemptResult("retry", 503, "x"))
    delivery = service(sender, Clock())
    assert delivery.handle(event_message(job_id, message_id="m-1")).action == RETRY
    assert delivery.handle(event_message(job_id, message_id="m-2")).action == DONE  # EventBridge's duplicate
    assert len(sender.calls) == 1


def test_redelivery_round(setup):
    store = setup["store"]
    job_id = finished_job(store)
    service(FakeSender(AttemptResult("delivered", 200, None)), Clock()).handle(event_message(job_id))
    updated = store.request_webhook_redelivery(job_id)
    assert updated.webhook["generation"] == 2 and updated.webhook["status"] == "pending"
    assert store.request_webhook_redelivery(job_id) is None  # while pending
    webhook_queue.send_redelivery(job_id, 2)
    sqs = setup["sqs"]
    (raw,) = sqs.receive_message(QueueUrl=setup["queue"])["Messages"]
    message = QueueMessage(raw["MessageId"], raw["Body"], raw["ReceiptHandle"])
    sender = FakeSender(AttemptResult("delivered", 200, None))
    assert service(sender, Clock()).handle(message).action == DONE
    assert store.get(job_id).webhook["status"] == "delivered" and len(sender.calls) == 1
    # A stale first-round message is ignored.
    assert service(sender, Clock()).handle(event_message(job_id, message_id="old")).action == DONE
    assert len(sender.calls) == 1


def test_apply_verdict_moves_messages(setup):
    sqs = setup["sqs"]
    sqs.send_message(QueueUrl=setup["queue"], MessageBody="{}")
    (raw,) = sqs.receive_message(QueueUrl=setup["queue"])["Messages"]
    message = QueueMessage(raw["MessageId"], raw["Body"], raw["ReceiptHandle"])
    verdict = service(FakeSender(AttemptResult("delivered", 200, None)), Clock()).handle(message)
    assert verdict.action == DEAD_LETTER  # not a delivery request
    assert apply_verdict(message, verdict) is False
    (parked,) = sqs.receive_message(QueueUrl=setup["dlq"], MessageAttributeNames=["All"])["Messages"]
    assert parked["Body"] == "{}" and parked["MessageAttributes"]["reason"]["StringValue"]
