"""How a job ends: exactly one terminal status and one terminal event, whatever retries and duplicates happen."""

from __future__ import annotations

from faceswap.adapters.event_bus import publish_terminal
from faceswap.adapters.job_table import JobStore
from faceswap.adapters.storage import Storage, upload_key
from faceswap.config import settings
from faceswap.domain.errors import JobError
from faceswap.domain.job import DELETED, FAILED, Job


def fail_job(store: JobStore, job_id: str, error: JobError, storage: Storage | None = None) -> Job | None:
    """Mark the job failed (unless it already ended), delete its uploaded photos, and announce how it ended.

    The photos go before the announcement, so a consumer never sees a failed job whose photos are still kept; a
    repeated call deletes nothing more and announces nothing twice."""
    job = store.mark_failed(job_id, error) or store.get(job_id)
    if job is not None:
        if job.status == FAILED:
            delete_own_uploads(storage or Storage(settings().bucket_name), job)
        announce_once(store, job)
    return job


def delete_own_uploads(storage: Storage, job: Job) -> None:
    """Delete the photos uploaded for this job (uploads/<job_id>/...), never a photo another job or a producer owns
    (a drop-zone or EventBridge job's inputs stay with whoever put them there)."""
    keys = [ref["key"] for role, ref in job.inputs.items() if ref.get("key") == upload_key(job.job_id, role)]
    storage.delete(keys)


def announce_once(store: JobStore, job: Job) -> None:
    """Publish the terminal event unless it was already published.

    The flag is set after PutEvents succeeds; a crash between the two can repeat the event once, so consumers are
    told to dedupe on (job_id, status). Nothing can make it disappear.
    """
    if not job.is_terminal or job.status == DELETED or job.terminal_event_sent:
        return
    publish_terminal(job)
    store.mark_terminal_event_sent(job.job_id)
