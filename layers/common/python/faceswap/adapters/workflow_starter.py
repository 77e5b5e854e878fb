"""Starting the workflow: one execution per job, named after the job, so a job can never run twice."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.domain.errors import TransientError


class WorkflowStartThrottledError(TransientError):
    """Step Functions throttled StartExecution or was briefly unavailable; starting again is safe (the execution is
    named after the job)."""


def start_execution(job_id: str) -> bool:
    """Start the job's execution; False if it already exists (running or finished), which is fine."""
    try:
        aws_clients.client("stepfunctions").start_execution(
            stateMachineArn=settings().state_machine_arn,
            name=job_id,
            input=json.dumps({"job_id": job_id}),
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return False
        if code in {"ThrottlingException", "ServiceUnavailable", "InternalServerError"}:
            raise WorkflowStartThrottledError(f"StartExecution: {code}") from error
        raise
    return True
