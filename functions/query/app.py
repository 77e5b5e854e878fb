"""Workflow step: ask the provider once how the task is doing, and decide the next wait."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.usecases.workflow_steps import Steps, job_id_of

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = job_id_of(event)
    logger.append_keys(job_id=job_id)
    poll = Steps().query(job_id, event.get("last_wait_seconds"), context.get_remaining_time_in_millis)
    inline_seconds = poll.pop("inline_seconds", 0)
    logger.info(
        "polled",
        extra={
            "status": poll["status"],
            "polls": poll["polls"],
            "next_wait_seconds": poll["next_wait_seconds"],
            "inline_seconds": inline_seconds,
        },
    )
    metrics.add_metric(name="ProviderPolls", unit=MetricUnit.Count, value=1)
    return poll
