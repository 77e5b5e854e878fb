"""`verify_webhook` against signatures made independently, by the `standardwebhooks` library itself."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from faceswap_client import WebhookVerificationError, verify_webhook
from standardwebhooks import Webhook

OLD_SECRET = "whsec_" + base64.b64encode(b"the-old-signing-secret-32-bytes!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"the-new-signing-secret-32-bytes!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-elses-secret-32-bytes!!").decode()
JOB_ID = "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"
BODY = json.dumps(
    {
        "type": "faceswap.succeeded",
        "timestamp": "2026-05-04T10:16:02Z",
        "data": {
            "job_id": JOB_ID,
            "status": "succeeded",
            "result": {"sha256": "ab" * 32, "size": 1234, "content_type": "image/png"},
            "error": None,
            "result_url": "https://bucket.s3.amazonaws.com/results/x.png?X-Amz-Signature=abc",
            "result_url_expires_at": "2026-05-04T11:16:02Z",
        },
    }
)


def signed(body: str, *secrets: str, at: datetime | None = None, message_id: str = "msg_1") -> dict[str, str]:
    """Headers as a sender using the standardwebhooks library makes them (one signature per active secret)."""
    when = at or datetime.now(UTC)
    signatures = " ".join(Webhook(secret).sign(message_id, when, body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
    }


def test_a_valid_delivery_verifies_and_is_parsed():
    event = verify_webhook(signed(BODY, NEW_SECRET), BODY.encode(), NEW_SECRET)
    assert event.id == "msg_1" and event.type == "faceswap.succeeded" and event.job_id == JOB_ID
    assert event.status == "succeeded" and event.result_sha256 == "ab" * 32 and event.result_size == 1234
    assert event.result_url is not None and event.result_url.startswith("https://")
    assert event.result_url_expires_at == datetime(2026, 5, 4, 11, 16, 2, tzinfo=UTC)
    assert event.error_code is None


def test_header_names_are_case_insensitive():
    headers = {name.title(): value for name, value in signed(BODY, NEW_SECRET).items()}
    assert verify_webhook(headers, BODY, [NEW_SECRET]).job_id == JOB_ID


def test_a_tampered_body_is_refused():
    headers = signed(BODY, NEW_SECRET)
    tampered = BODY.replace("succeeded", "failed", 1)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify_webhook(headers, tampered.encode(), NEW_SECRET)
    # Re-serialising the JSON changes the bytes too: verify the body exactly as received.
    reformatted = json.dumps(json.loads(BODY), indent=2)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, reformatted, NEW_SECRET)


def test_an_old_timestamp_is_refused_even_with_a_good_signature():
    headers = signed(BODY, NEW_SECRET, at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="timestamp too old"):
        verify_webhook(headers, BODY, NEW_SECRET)
    future = signed(BODY, NEW_SECRET, at=datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="timestamp too new"):
        verify_webhook(future, BODY, NEW_SECRET)


def test_rotation_both_secrets_sign_and_either_receiver_verifies():
    during_overlap = signed(BODY, OLD_SECRET, NEW_SECRET)
    assert verify_webhook(during_overlap, BODY, OLD_SECRET).job_id == JOB_ID  # a receiver still on the old one
    assert verify_webhook(during_overlap, BODY, NEW_SECRET).job_id == JOB_ID  # a receiver already on the new one
    # A receiver holding both accepts deliveries signed by either alone (before and after the overlap).
    assert verify_webhook(signed(BODY, OLD_SECRET), BODY, [OLD_SECRET, NEW_SECRET]).id == "msg_1"
    assert verify_webhook(signed(BODY, NEW_SECRET), BODY, [OLD_SECRET, NEW_SECRET]).id == "msg_1"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(during_overlap, BODY, [OTHER_SECRET])


@pytest.mark.parametrize(
    "broken",
    [
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v1,not-base64!!"},
        {"webhook-id": ""},
        {"webhook-timestamp": "yesterday"},
    ],
)
def test_malformed_headers_are_refused_not_crashed_on(broken: dict[str, str]):
    headers = {**signed(BODY, NEW_SECRET), **broken}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, BODY, NEW_SECRET)


def test_a_secret_that_is_not_whsec_base64_is_a_configuration_error():
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook(signed(BODY, NEW_SECRET), BODY, "whsec_@@@not base64@@@")
    with pytest.raises(ValueError, match="at least one secret"):
        verify_webhook(signed(BODY, NEW_SECRET), BODY, [])
