"""Webhook deliveries: one signed POST per queue message; failures stay on the queue for a later attempt."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.usecases.webhooks import DEAD_LETTER, DONE, QueueMessage, WebhookDelivery, apply_verdict

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    delivery = WebhookDelivery()
    failures = []
    for record in event.get("Records") or []:
        message = QueueMessage(record["messageId"], record.get("body") or "", record.get("receiptHandle", ""))
        verdict = delivery.handle(message)
        # Job id, a reason naming at most the host, and the status code: never the URL, body, secret or signature.
        logger.info(
            "webhook attempt" if verdict.attempts else "webhook message skipped",
            extra={
                "job_id": verdict.job_id,
                "action": verdict.action,
                "reason": verdict.reason,
                "status_code": verdict.status_code,
                "attempts": verdict.attempts,
                "next_attempt_in_seconds": verdict.delay_seconds or None,
            },
        )
        if apply_verdict(message, verdict):
            failures.append({"itemIdentifier": message.message_id})
        if verdict.action == DONE and verdict.reason == "delivered":
            metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
        elif verdict.action == DEAD_LETTER:
            metrics.add_metric(name="WebhooksFailed", unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": failures}
