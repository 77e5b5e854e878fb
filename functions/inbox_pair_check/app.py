"""Drop zone: after the pair timeout, fail a lone photo whose partner never arrived (`FaceSwap Failed`,
INPUT_INCOMPLETE)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.usecases.intake import Intake

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = Intake().check_lone_photo(str(event.get("key", "")), str(event.get("etag", "")))
    logger.info("lone photo checked", extra={"key": outcome.key, "action": outcome.action, "job_id": outcome.job_id})
    if outcome.action == "rejected":
        metrics.add_metric(name="PairsIncomplete", unit=MetricUnit.Count, value=1)
    return asdict(outcome)
