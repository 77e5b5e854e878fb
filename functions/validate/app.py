"""Workflow step: check both photos by content before any credit is spent."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from faceswap.usecases.workflow_steps import Steps, job_id_of

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job_id = job_id_of(event)
    logger.append_keys(job_id=job_id)
    return Steps().validate(job_id)
