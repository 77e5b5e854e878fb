"""EventBridge: the `FaceSwap Succeeded` / `FaceSwap Failed` events (one per job) and their detail."""

from __future__ import annotations

import json
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.adapters.job_table import FAILED, SUCCEEDED, Job
from faceswap.config import settings
from faceswap.domain.clock import parse_iso
from faceswap.domain.errors import TransientError

SUCCEEDED_DETAIL_TYPE = "FaceSwap Succeeded"
FAILED_DETAIL_TYPE = "FaceSwap Failed"
REQUESTED_DETAIL_TYPE = "FaceSwap Requested"
SCHEMA_VERSION = "1"


class EventPublishError(TransientError):
    """EventBridge did not accept the event; retrying is safe (consumers dedupe on detail.job_id + status)."""


def terminal_detail(job: Job) -> dict[str, Any]:
    total = None
    if job.completed_at:
        total = round(parse_iso(job.completed_at) - parse_iso(job.created_at), 3)
    result = None
    if job.status == SUCCEEDED and job.result:
        result = {name: job.result[name] for name in ("bucket", "key", "sha256", "size", "content_type")}
        result["provider_sha256"] = job.result.get("provider_sha256")
    return {
        "schema_version": SCHEMA_VERSION,
        "job_id": job.job_id,
        "status": job.status,
        "origin": job.origin,
        "client_reference": job.client_reference,
        "inputs": {role: {"bucket": ref["bucket"], "key": ref["key"]} for role, ref in job.inputs.items()},
        "result": result,
        "provider": {"name": job.provider, "task_id": job.provider_task_id},
        "timings": {
            "created_at": job.created_at,
            "submitted_at": job.submitted_at,
            "completed_at": job.completed_at,
            "total_seconds": total,
            "polls": job.polls,
        },
        "error": job.error if job.status == FAILED else None,
        "provenance": job.provenance,
    }


def publish_terminal(job: Job) -> None:
    detail_type = SUCCEEDED_DETAIL_TYPE if job.status == SUCCEEDED else FAILED_DETAIL_TYPE
    publish(detail_type, terminal_detail(job), resources=[])


def publish(detail_type: str, detail: dict[str, Any], *, resources: list[str]) -> None:
    config = settings()
    response = aws_clients.client("events").put_events(
        Entries=[
            {
                "Source": config.event_source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":")),
                "EventBusName": config.event_bus_name,
                "Resources": resources,
            }
        ]
    )
    # PutEvents reports per-entry failures in a 200 response; unnoticed, the event would be lost.
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise EventPublishError(f"PutEvents failed: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
