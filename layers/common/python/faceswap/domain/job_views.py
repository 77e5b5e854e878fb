"""Every shape of a job the outside world sees, in one place: the API's job view and the terminal events' detail.

openapi.yaml (`components.schemas.Swap`) and events/schemas/*.schema.json describe these; tests/contract checks that
they agree with what these functions build, so a new field added here and not there (or the other way) fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faceswap.domain.clock import parse_iso
from faceswap.domain.job import FAILED, SUCCEEDED, Job
from faceswap.domain.webhooks import public_view as webhook_view

EVENT_SCHEMA_VERSION = "1"
_STORED_RESULT_FIELDS = ("bucket", "key", "sha256", "size", "content_type")


@dataclass(frozen=True)
class ResultDownload:
    """A short-lived download link to a succeeded job's result (made by the storage adapter)."""

    url: str
    expires_at: str


def api_view(job: Job, download: ResultDownload | None = None) -> dict[str, Any]:
    """The job as GET /v1/swaps/{job_id} answers it (`Swap` in openapi.yaml)."""
    result = None
    if job.status == SUCCEEDED and job.result and download is not None:
        result = {
            "url": download.url,
            "expires_at": download.expires_at,
            "content_type": job.result["content_type"],
            "size": job.result["size"],
            "sha256": job.result["sha256"],
            "provider_sha256": job.result.get("provider_sha256"),
        }
    return {
        "job_id": job.job_id,
        "status": job.status,
        "origin": job.origin,
        "client_reference": job.client_reference,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "queued_at": job.queued_at,
        "submitted_at": job.submitted_at,
        "completed_at": job.completed_at,
        "polls": job.polls,
        "error": job.error if job.status == FAILED else None,
        "result": result,
        "webhook": webhook_view(job.webhook),
        "consent": job.consent,
        "provenance": job.provenance,
    }


def event_detail(job: Job) -> dict[str, Any]:
    """The detail of `FaceSwap Succeeded` / `FaceSwap Failed` (events/schemas/faceswap_*.schema.json)."""
    total = None
    if job.completed_at:
        total = round(parse_iso(job.completed_at) - parse_iso(job.created_at), 3)
    result = None
    if job.status == SUCCEEDED and job.result:
        result = {name: job.result[name] for name in _STORED_RESULT_FIELDS}
        result["provider_sha256"] = job.result.get("provider_sha256")
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "job_id": job.job_id,
        "status": job.status,
        "origin": job.origin,
        "client_reference": job.client_reference,
        # A drop-zone photo whose partner never arrived has no key for that role.
        "inputs": {
            role: {"bucket": ref["bucket"], "key": ref["key"]} if ref.get("key") else None
            for role, ref in job.inputs.items()
        },
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
