"""Workflow step: submit the two photos to the provider, at most once per job."""

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
    poll = Steps().submit(job_id)
    logger.info("submitted", extra={"first_wait_seconds": poll["next_wait_seconds"]})
    metrics.add_metric(name="ProviderSubmissions", unit=MetricUnit.Count, value=1)
    return poll
