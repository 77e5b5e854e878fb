"""Workflow failure path: record the error on the job and emit `FaceSwap Failed` (exactly once)."""

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
    outcome = Steps().record_failure(job_id, event.get("failure") or {})
    logger.warning("job failed", extra={"error_code": outcome["error"]["code"], "status": outcome["status"]})
    metrics.add_dimension(name="ErrorCode", value=outcome["error"]["code"])
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return outcome
