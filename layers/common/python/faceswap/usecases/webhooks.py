"""Webhook delivery: one attempt per queue message, the verdict tells the queue what to do with the message.

Flow for a job's terminal event: the job's webhook is claimed for this message (duplicates of the event and
superseded rounds are dropped), the payload is built from the job record (the same detail as the EventBridge event
plus a fresh presigned GET of the result), signed with every active secret and POSTed. A 2xx ends the round as
`delivered`, a 410 as `disabled` (the receiver asked us to stop), a refused destination as `failed` (dead letter).
Anything else is retried with back-off and jitter until the retry budget has passed, then `failed` (dead letter).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faceswap.adapters import secret_values, webhook_queue, webhook_sender
from faceswap.adapters.event_bus import FAILED_DETAIL_TYPE, SUCCEEDED_DETAIL_TYPE
from faceswap.adapters.job_table import JobStore
from faceswap.adapters.storage import Storage
from faceswap.config import Settings, settings
from faceswap.domain import webhooks
from faceswap.domain.clock import iso, now_epoch, parse_iso
from faceswap.domain.ids import is_job_id
from faceswap.domain.job import DELETED, FAILED, SUCCEEDED, Job
from faceswap.domain.job_views import event_detail

logger = logging.getLogger(__name__)

# What the queue should do with the message.
DONE = "done"  # delete it
RETRY = "retry"  # keep it, hidden for `delay_seconds`
DEAD_LETTER = "dead_letter"  # move it to the dead-letter queue


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    body: str
    receipt_handle: str = ""


@dataclass(frozen=True)
class Verdict:
    action: str
    job_id: str | None = None
    reason: str = ""  # safe to log
    status_code: int | None = None
    attempts: int = 0
    delay_seconds: int = 0


def delivery_request(body: str) -> tuple[str, int] | None:
    """(job id, delivery round) of a queue message, or None when it is not one of ours."""
    try:
        message: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("kind") == webhook_queue.REDELIVERY_KIND:
        job_id, generation = message.get("job_id"), message.get("generation")
        if isinstance(job_id, str) and is_job_id(job_id) and isinstance(generation, int) and generation > 1:
            return job_id, generation
        return None
    detail = message.get("detail")
    if message.get("detail-type") in (SUCCEEDED_DETAIL_TYPE, FAILED_DETAIL_TYPE) and isinstance(detail, dict):
        job_id = detail.get("job_id")
        if isinstance(job_id, str) and is_job_id(job_id):
            return job_id, 1
    return None


class WebhookDelivery:
    def __init__(
        self,
        store: JobStore | None = None,
        storage: Storage | None = None,
        *,
        send: Callable[..., webhook_sender.AttemptResult] = webhook_sender.post,
        signing_secrets: Callable[[], list[str]] | None = None,
        clock: Callable[[], float] = now_epoch,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config: Settings = settings()
        self.store = store or JobStore()
        self.storage = storage or Storage(self.config.bucket_name)
        self.send = send
        self.signing_secrets = signing_secrets or self._secrets_from_store
        self.clock = clock
        self.rng = rng
        self.policy = webhooks.RetryPolicy(
            base_seconds=self.config.webhook_retry_base_seconds,
            cap_seconds=self.config.webhook_retry_cap_seconds,
            budget_seconds=self.config.webhook_retry_budget_seconds,
        )

    def _secrets_from_store(self) -> list[str]:
        value = secret_values.secret_string(
            self.config.webhook_signing_secret_arn, max_age=self.config.webhook_secret_max_age_seconds
        )
        return webhooks.parse_secrets(value)

    # -- one message --------------------------------------------------------------------------------------------
    def handle(self, message: QueueMessage) -> Verdict:
        request = delivery_request(message.body)
        if request is None:
            return Verdict(DEAD_LETTER, reason="not a webhook delivery request")
        job_id, generation = request
        job = self.store.get(job_id)
        hook = job.webhook if job else None
        if job is None or not hook:
            return Verdict(DONE, job_id, "no webhook configured")
        if int(hook.get("generation") or 0) != generation or hook.get("status") != webhooks.PENDING:
            return Verdict(DONE, job_id, "superseded or already handled")
        if job.status == DELETED:
            self.store.end_webhook_round(job_id, generation, webhooks.DISABLED, "the job was deleted")
            return Verdict(DONE, job_id, "job deleted")
        if job.status not in (SUCCEEDED, FAILED):
            return Verdict(DONE, job_id, f"job is {job.status}, not finished")
        if job.status not in (hook.get("events") or []):
            self.store.end_webhook_round(job_id, generation, webhooks.DISABLED, f"not subscribed to {job.status}")
            return Verdict(DONE, job_id, f"not subscribed to {job.status}")
        claimed = self.store.claim_webhook_delivery(job_id, generation, message.message_id, now=self.clock())
        if claimed is None or not claimed.webhook:
            return Verdict(DONE, job_id, "duplicate message")
        return self._attempt(claimed, claimed.webhook, generation, message)

    def _attempt(self, job: Job, hook: dict[str, Any], generation: int, message: QueueMessage) -> Verdict:
        attempts = int(hook.get("attempts") or 0) + 1
        try:
            body = self._body(job)
        except webhooks.PayloadTooLargeError as error:
            return self._give_up(job, generation, message, attempts, None, str(error))
        sent_at = self.clock()
        headers = webhooks.signed_headers(
            self.signing_secrets(), webhooks.webhook_id(job.job_id), datetime.fromtimestamp(sent_at, UTC), body
        )
        result = self.send(
            hook["url"],
            body.encode("utf-8"),
            headers,
            timeout=self.config.webhook_timeout_seconds,
            allow_insecure_local=self.config.allow_insecure_webhook_urls,
        )
        attempted_at = iso(sent_at)
        if result.outcome == webhooks.OUTCOME_DELIVERED:
            self._record(job, generation, message, webhooks.DELIVERED, result, attempted_at, delivered_at=attempted_at)
            return Verdict(DONE, job.job_id, "delivered", result.status_code, attempts)
        if result.outcome == webhooks.OUTCOME_GONE:
            self._record(job, generation, message, webhooks.DISABLED, result, attempted_at)
            return Verdict(DONE, job.job_id, "receiver answered 410 Gone", result.status_code, attempts)
        if result.outcome == webhooks.OUTCOME_REFUSED:
            return self._give_up(job, generation, message, attempts, result.status_code, result.error, attempted_at)
        first = hook.get("first_attempt_at")
        first_epoch = parse_iso(first) if isinstance(first, str) else sent_at
        if not self.policy.should_retry(first_epoch, self.clock()):
            return self._give_up(job, generation, message, attempts, result.status_code, result.error, attempted_at)
        self._record(job, generation, message, webhooks.PENDING, result, attempted_at)
        delay = self.policy.delay_seconds(attempts, self.rng)
        return Verdict(RETRY, job.job_id, result.error or "", result.status_code, attempts, delay)

    def _give_up(
        self,
        job: Job,
        generation: int,
        message: QueueMessage,
        attempts: int,
        status_code: int | None,
        error: str | None,
        attempted_at: str | None = None,
    ) -> Verdict:
        result = webhook_sender.AttemptResult(webhooks.OUTCOME_REFUSED, status_code, error)
        self._record(job, generation, message, webhooks.FAILED, result, attempted_at or iso(self.clock()))
        return Verdict(DEAD_LETTER, job.job_id, error or "failed", status_code, attempts)

    def _record(
        self,
        job: Job,
        generation: int,
        message: QueueMessage,
        status: str,
        result: webhook_sender.AttemptResult,
        attempted_at: str,
        *,
        delivered_at: str | None = None,
    ) -> None:
        self.store.record_webhook_attempt(
            job.job_id,
            generation,
            message.message_id,
            status=status,
            status_code=result.status_code,
            error=result.error,
            attempted_at=attempted_at,
            delivered_at=delivered_at,
        )

    def _body(self, job: Job) -> str:
        result_url = expires_at = None
        if job.status == SUCCEEDED and job.result:
            result_url, expires_at = self.result_link(job)
        return webhooks.build_body(
            event_detail(job),
            timestamp=job.completed_at or job.updated_at,
            result_url=result_url,
            result_url_expires_at=expires_at,
        )

    def result_link(self, job: Job) -> tuple[str, str]:
        """A presigned GET of the result and when it stops working: the configured lifetime, cut short by the end of
        the result's retention (the bucket's lifecycle rule deletes it then)."""
        assert job.result is not None
        lifetime = self.config.webhook_result_url_expires_seconds
        if job.completed_at:
            retention_end = parse_iso(job.completed_at) + self.config.result_retention_days * 86400
            lifetime = max(1, min(lifetime, int(retention_end - self.clock())))
        return self.storage.presigned_download(job.result["key"], lifetime, bucket=job.result["bucket"])


def apply_verdict(message: QueueMessage, verdict: Verdict) -> bool:
    """Carry out what the verdict asks of the queue; True when the message must be reported as failed (kept)."""
    if verdict.action == RETRY:
        webhook_queue.retry_later(message.receipt_handle, verdict.delay_seconds)
        return True
    if verdict.action == DEAD_LETTER:
        webhook_queue.dead_letter(message.body, verdict.reason)
    return False
