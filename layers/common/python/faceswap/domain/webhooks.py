"""Webhook messages and their delivery rules: the state kept on a job, the signed payload, the retry schedule.

Messages follow the Standard Webhooks specification: headers ``webhook-id`` (the same on every attempt and every
redelivery of a job's message, so receivers can deduplicate), ``webhook-timestamp`` (the attempt's time, integer
seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per active secret).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from faceswap.domain.webhook_urls import WebhookRequest

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DISABLED = "disabled"
MAX_PAYLOAD_BYTES = 64 * 1024
USER_AGENT = "faceswap-webhooks/1"

# Outcomes of one attempt.
OUTCOME_DELIVERED = "delivered"  # any 2xx
OUTCOME_GONE = "gone"  # 410: the receiver asks us to stop
OUTCOME_RETRY = "retry"  # timeouts, connection errors, any other answer (redirects included: never followed)
OUTCOME_REFUSED = "refused"  # the destination is not allowed (private address, bad URL): never retried


class PayloadTooLargeError(ValueError):
    """The message would exceed MAX_PAYLOAD_BYTES."""


class InvalidSigningSecretError(ValueError):
    """The signing secret is not one or more base64 (optionally whsec_-prefixed) keys."""


def initial_state(request: WebhookRequest) -> dict[str, Any]:
    """What a new job records about its webhook (the URL stays private: views show the host only)."""
    return {
        "url": request.url,
        "host": request.host,
        "events": list(request.events),
        "status": PENDING,
        "generation": 1,
        "attempts": 0,
        "last_status_code": None,
        "last_attempt_at": None,
        "delivered_at": None,
    }


def public_view(state: dict[str, Any] | None) -> dict[str, Any] | None:
    if not state:
        return None
    return {
        "status": state.get("status"),
        "host": state.get("host"),
        "events": list(state.get("events") or []),
        "attempts": int(state.get("attempts") or 0),
        "last_status_code": state.get("last_status_code"),
        "last_attempt_at": state.get("last_attempt_at"),
        "delivered_at": state.get("delivered_at"),
    }


def webhook_id(job_id: str) -> str:
    """One message per job: its id is derived from the job, so every attempt and redelivery carries the same one."""
    return f"msg_{job_id}"


def event_type(job_status: str) -> str:
    return f"faceswap.{job_status}"


def build_body(
    detail: dict[str, Any], *, timestamp: str, result_url: str | None, result_url_expires_at: str | None
) -> str:
    """The JSON body: {"type", "timestamp", "data": {<terminal detail>, "result_url", "result_url_expires_at"}}."""
    data = {**detail, "result_url": result_url, "result_url_expires_at": result_url_expires_at}
    body = json.dumps(
        {"type": event_type(str(detail["status"])), "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    if len(body.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(f"the webhook payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return body


def parse_secrets(secret_string: str) -> list[str]:
    """The active signing secrets, newest first: one or more whitespace-separated ``whsec_<base64>`` values."""
    secrets = secret_string.split()
    if not secrets:
        raise InvalidSigningSecretError("no webhook signing secret is set")
    for secret in secrets:
        try:
            Webhook(secret)
        except Exception:  # binascii.Error, EmptyWebhookSecretError: say which, never what
            raise InvalidSigningSecretError("a webhook signing secret is not valid base64") from None
    return secrets


def signed_headers(secrets: Sequence[str], message_id: str, sent_at: datetime, body: str) -> dict[str, str]:
    """The request headers for one attempt: every active secret signs (rotation without downtime)."""
    moment = sent_at.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(message_id, moment, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(moment.timestamp())),
        "webhook-signature": signatures,
    }


def classify(status_code: int | None) -> str:
    if status_code is None:
        return OUTCOME_RETRY
    if 200 <= status_code <= 299:
        return OUTCOME_DELIVERED
    if status_code == 410:
        return OUTCOME_GONE
    return OUTCOME_RETRY


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, for at least `budget_seconds` after the first attempt.

    The n-th retry waits between half and all of min(cap, base * 2**(n-1)) seconds ("equal jitter": spread out, yet
    never much sooner than the schedule). Retries continue while the first attempt is less than `budget_seconds`
    ago, so the last attempt happens at or after the budget.
    """

    base_seconds: float = 5.0
    cap_seconds: float = 36000.0
    budget_seconds: float = 86400.0

    def should_retry(self, first_attempt_epoch: float, now_epoch: float) -> bool:
        return now_epoch - first_attempt_epoch < self.budget_seconds

    def delay_seconds(self, attempts_made: int, random: Callable[[], float]) -> int:
        """Whole seconds to wait after `attempts_made` attempts (SQS visibility timeouts are whole seconds)."""
        exponent = min(max(attempts_made - 1, 0), 40)
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0**exponent)
        return max(1, math.ceil(ceiling / 2 + random() * ceiling / 2))
