"""Workflow step: stream the provider's result into our bucket, mark the job succeeded, emit `FaceSwap Succeeded`."""

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
    outcome = Steps().archive(job_id, str(event.get("result_url") or ""), context.get_remaining_time_in_millis)
    logger.info("archived", extra={"status": outcome["status"], "key": (outcome["result"] or {}).get("key")})
    if "metrics" in outcome:  # this attempt finished the job; a repeated step only re-announces it
        metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)
        for name, value in outcome["metrics"].items():
            unit = MetricUnit.Seconds if name.endswith("Seconds") else MetricUnit.Count
            metrics.add_metric(name=name, unit=unit, value=value)
    return {"status": outcome["status"]}
