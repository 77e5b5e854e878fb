"""EventBridge `FaceSwap Requested`: create the job named by the event and start it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.usecases.intake import Intake

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = Intake().handle_request_event(event)
    logger.append_keys(job_id=outcome.job_id)
    logger.info("request processed", extra={"action": outcome.action, "error_code": outcome.error_code})
    if outcome.action == "started":
        metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
    return asdict(outcome)
