"""The webhook queue (SQS): delivery requests in, retries by visibility timeout, the dead-letter queue out.

A message is either the terminal EventBridge event (routed by a rule) or a redelivery request from the API. A failed
attempt keeps its message and hides it for the back-off delay (ChangeMessageVisibility, at most 12 hours), so the
same message - and the same webhook-id - comes back for the next attempt.
"""

from __future__ import annotations

import json

from faceswap.adapters import aws_clients
from faceswap.config import settings

MAX_VISIBILITY_SECONDS = 43200  # SQS limit: 12 hours
REDELIVERY_KIND = "faceswap.webhook.redeliver"


def send_redelivery(job_id: str, generation: int) -> None:
    body = {"kind": REDELIVERY_KIND, "job_id": job_id, "generation": generation}
    aws_clients.client("sqs").send_message(
        QueueUrl=settings().webhook_queue_url, MessageBody=json.dumps(body, separators=(",", ":"))
    )


def retry_later(receipt_handle: str, delay_seconds: int) -> None:
    aws_clients.client("sqs").change_message_visibility(
        QueueUrl=settings().webhook_queue_url,
        ReceiptHandle=receipt_handle,
        VisibilityTimeout=max(0, min(int(delay_seconds), MAX_VISIBILITY_SECONDS)),
    )


def dead_letter(body: str, reason: str) -> None:
    """Park the message after its last attempt; `reason` must be safe to show (no URL path, secret or signature)."""
    aws_clients.client("sqs").send_message(
        QueueUrl=settings().webhook_dead_letter_queue_url,
        MessageBody=body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256] or "unknown"}},
    )
