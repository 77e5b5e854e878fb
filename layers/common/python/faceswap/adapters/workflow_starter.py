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


def start_pair_watch(name: str, watch_input: dict[str, object]) -> bool:
    """Start the drop zone's pair watch (a Wait, then a check) under `name`; False if it already exists."""
    return _start(settings().inbox_pair_watch_arn, name, watch_input)


def start_execution(job_id: str) -> bool:
    """Start the job's execution; False if it already exists (running or finished), which is fine."""
    return _start(settings().state_machine_arn, job_id, {"job_id": job_id})


def _start(state_machine_arn: str, name: str, execution_input: dict[str, object]) -> bool:
    try:
        aws_clients.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ExecutionAlreadyExists":
            return False
        if code in {"ThrottlingException", "ServiceUnavailable", "InternalServerError"}:
            raise WorkflowStartThrottledError(f"StartExecution: {code}") from error
        raise
    return True
