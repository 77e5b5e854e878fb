"""S3 ObjectCreated on uploads/ and inbox/: record browser uploads, pair drop-zone photos, start jobs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.usecases.intake import Intake, object_keys

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    intake = Intake()
    outcomes = []
    for bucket, key in object_keys(event):
        outcome = intake.handle_object(bucket, key)
        logger.info(
            "object processed",
            extra={"job_id": outcome.job_id, "key": key, "action": outcome.action, "error_code": outcome.error_code},
        )
        if outcome.action == "started":
            metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
        elif outcome.action == "rejected":
            metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
        outcomes.append(asdict(outcome))
    return {"outcomes": outcomes}
