"""Verifying the service's webhook deliveries (Standard Webhooks signatures) with the `standardwebhooks` package."""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import standardwebhooks

from faceswap_client.errors import WebhookVerificationError
from faceswap_client.models import read_int, read_mapping, read_text, read_timestamp


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery.

    `id` is the `webhook-id` header: the same on every retry of one message, so a receiver that saw it before can
    answer 2xx and do nothing. `type` is ``faceswap.succeeded`` or ``faceswap.failed``. `data` is the job's event
    detail (as on EventBridge) plus `result_url` and `result_url_expires_at`.
    """

    id: str
    type: str
    timestamp: datetime | None
    data: Mapping[str, Any] = field(repr=False)

    @property
    def job_id(self) -> str:
        return read_text(self.data, "job_id") or ""

    @property
    def status(self) -> str | None:
        return read_text(self.data, "status")

    @property
    def result_url(self) -> str | None:
        """A presigned GET of the result (succeeded jobs), valid until `result_url_expires_at`."""
        return read_text(self.data, "result_url")

    @property
    def result_url_expires_at(self) -> datetime | None:
        return read_timestamp(self.data, "result_url_expires_at")

    @property
    def result_sha256(self) -> str | None:
        result = read_mapping(self.data, "result") or {}
        return read_text(result, "sha256")

    @property
    def result_size(self) -> int | None:
        return read_int(read_mapping(self.data, "result") or {}, "size")

    @property
    def error_code(self) -> str | None:
        return read_text(read_mapping(self.data, "error") or {}, "code")


def _webhook_for(secret: str) -> standardwebhooks.Webhook:
    try:
        return standardwebhooks.Webhook(secret)
    except (binascii.Error, ValueError, standardwebhooks.webhooks.EmptyWebhookSecretError) as exc:
        raise ValueError("a webhook secret is a whsec_ string followed by base64 (as the service prints it)") from exc


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def verify_webhook(headers: Mapping[str, str] | Any, body: bytes | str, secrets: str | Iterable[str]) -> WebhookEvent:
    """Check a delivery's `webhook-signature` against each of `secrets` and return the event.

    `headers` is any mapping of the request's headers (a dict, `http.server`'s `self.headers`, a framework's header
    object); `body` the raw request body, exactly as received (do not parse and re-serialise it first). `secrets` is
    one ``whsec_...`` secret or several: while the service rotates its secret, pass the old and the new one and a
    delivery signed with either verifies. Timestamps more than 5 minutes away from now are refused (replays).

    Raises `WebhookVerificationError` (a `ValueError`) when no secret verifies it; answer such a request with 400.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise ValueError("verify_webhook needs at least one secret")
    webhooks = [_webhook_for(secret) for secret in candidates]
    header_map = {str(key).lower(): str(value) for key, value in headers.items()}
    try:
        text = body if isinstance(body, str) else body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookVerificationError("the webhook body is not UTF-8 text") from None
    reasons: list[str] = []
    for webhook in webhooks:
        try:
            payload = webhook.verify(text, header_map)
        except standardwebhooks.webhooks.WebhookVerificationError as exc:
            reasons.append(str(exc))
            continue
        except (ValueError, binascii.Error):
            # A malformed signature list or a body that is not JSON; the library lets these through.
            reasons.append("malformed webhook-signature header or body")
            continue
        return _event(header_map, payload)
    raise WebhookVerificationError(f"webhook verification failed: {_most_telling(reasons)}")


def _most_telling(reasons: list[str]) -> str:
    """Timestamp and header problems do not depend on the secret; say those rather than 'no matching signature'."""
    for reason in reasons:
        if "timestamp" in reason.lower() or "header" in reason.lower():
            return reason.lower()
    return (reasons[0] if reasons else "no matching signature found").lower()


def _event(headers: Mapping[str, str], payload: Any) -> WebhookEvent:
    if not isinstance(payload, Mapping):
        raise WebhookVerificationError("webhook verification failed: the body is not a JSON object")
    data = payload.get("data")
    return WebhookEvent(
        id=_header(headers, "webhook-id"),
        type=str(payload.get("type") or ""),
        timestamp=read_timestamp(payload, "timestamp"),
        data=data if isinstance(data, Mapping) else {},
    )
