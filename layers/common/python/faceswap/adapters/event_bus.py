"""EventBridge: publishing the `FaceSwap Succeeded` / `FaceSwap Failed` events (one per job; the detail is
`faceswap.domain.job_views.event_detail`)."""

from __future__ import annotations

import json
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.domain.errors import TransientError
from faceswap.domain.job import SUCCEEDED, Job
from faceswap.domain.job_views import event_detail

SUCCEEDED_DETAIL_TYPE = "FaceSwap Succeeded"
FAILED_DETAIL_TYPE = "FaceSwap Failed"


class EventPublishError(TransientError):
    """EventBridge did not accept the event; retrying is safe (consumers dedupe on detail.job_id + status)."""


def publish_terminal(job: Job) -> None:
    detail_type = SUCCEEDED_DETAIL_TYPE if job.status == SUCCEEDED else FAILED_DETAIL_TYPE
    publish(detail_type, event_detail(job), resources=[])


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
