"""Webhook messages: Standard Webhooks signatures (verified with the `standardwebhooks` library), rotation, the
payload limit and the retry schedule."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest
from faceswap.domain import webhooks
from faceswap.domain.webhook_urls import WebhookRequest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
DETAIL = {"job_id": "a" * 32, "status": "succeeded", "result": {"sha256": "0" * 64}}


def body() -> str:
    return webhooks.build_body(
        DETAIL,
        timestamp="2026-11-28T00:00:00.000Z",
        result_url="https://s3/x?X-Amz-Signature=y",
        result_url_expires_at="2026-11-28T01:00:00.000Z",
    )


def test_headers_verify_with_the_standard_library():
    now = datetime.now(UTC)
    headers = webhooks.signed_headers([OLD], "msg_1", now, body())
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    payload = Webhook(OLD).verify(body(), headers)
    assert payload["type"] == "faceswap.succeeded" and payload["data"]["job_id"] == "a" * 32
    assert payload["data"]["result_url"].startswith("https://") and payload["data"]["result"] == DETAIL["result"]
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(body(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body().replace("succeeded", "failed"), headers)  # altered body


def test_rotation_signs_with_every_active_secret():
    headers = webhooks.signed_headers([NEW, OLD], "msg_1", datetime.now(UTC), body())
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(OLD).verify(body(), headers) and Webhook(NEW).verify(body(), headers)


def test_stale_timestamps_are_refused_by_receivers():
    headers = webhooks.signed_headers([OLD], "msg_1", datetime(2020, 1, 1, tzinfo=UTC), body())
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body(), headers)


def test_secret_strings():
    assert webhooks.parse_secrets(f" {NEW}\n{OLD} ") == [NEW, OLD]
    assert webhooks.parse_secrets("QUJDRA" * 6 + "QUJD") == ["QUJDRA" * 6 + "QUJD"]  # the generated initial form
    for bad in ("", "   ", "whsec_***", "whsec_"):
        with pytest.raises(webhooks.InvalidSigningSecretError) as raised:
            webhooks.parse_secrets(bad)
        assert "***" not in str(raised.value)


def test_payload_limit():
    assert len(body()) < 1024
    big = {**DETAIL, "client_reference": "x" * (64 * 1024)}
    with pytest.raises(webhooks.PayloadTooLargeError):
        webhooks.build_body(big, timestamp="t", result_url=None, result_url_expires_at=None)


def test_largest_possible_detail_fits():
    """client_reference <= 128 characters and keys <= 1,024 bytes keep any real message far below 64 KiB."""
    detail = {
        **DETAIL,
        "client_reference": "\U0001f600" * 128,
        "inputs": {role: {"bucket": "b" * 63, "key": "k" * 1024} for role in ("target", "template")},
        "error": {"code": "INTERNAL_ERROR", "message": "m" * 2000},
    }
    text = webhooks.build_body(detail, timestamp="t", result_url="u" * 4096, result_url_expires_at="t")
    assert len(text.encode()) < 16 * 1024


def test_outcomes():
    assert [webhooks.classify(code) for code in (200, 204, 299)] == ["delivered"] * 3
    assert webhooks.classify(410) == "gone"
    assert [webhooks.classify(code) for code in (None, 301, 302, 400, 404, 429, 500, 503)] == ["retry"] * 8


def test_retry_schedule_covers_at_least_a_day_with_growing_jittered_delays():
    policy = webhooks.RetryPolicy()  # the template's defaults: 5 s base, 10 h cap, 24 h budget
    rng = random.Random(7)
    for attempts in range(1, 30):
        ceiling = min(36000, 5 * 2 ** (attempts - 1))
        delays = {policy.delay_seconds(attempts, rng.random) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling + 1 for d in delays)
        assert max(delays) <= 43200  # an SQS visibility timeout
    for draw in (lambda: 0.0, lambda: 1.0, rng.random):
        elapsed, attempts = 0.0, 1
        while policy.should_retry(0.0, elapsed):
            elapsed += policy.delay_seconds(attempts, draw)
            attempts += 1
        assert 86400 <= elapsed < 86400 + 36001  # the last attempt comes after a full day, not much later
        assert 10 <= attempts <= 30


def test_state_and_view():
    state = webhooks.initial_state(WebhookRequest("https://h.example/x?token=t", ("succeeded",), "h.example"))
    view = webhooks.public_view(state)
    assert view == {
        "status": "pending",
        "host": "h.example",
        "events": ["succeeded"],
        "attempts": 0,
        "last_status_code": None,
        "last_attempt_at": None,
        "delivered_at": None,
    }
    assert "token" not in json.dumps(view) and webhooks.public_view(None) is None
