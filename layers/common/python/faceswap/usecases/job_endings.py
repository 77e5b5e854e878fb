"""How a job ends: exactly one terminal status and one terminal event, whatever retries and duplicates happen."""

from __future__ import annotations

from faceswap.adapters.event_bus import publish_terminal
from faceswap.adapters.job_table import JobStore
from faceswap.domain.errors import JobError
from faceswap.domain.job import DELETED, Job


def fail_job(store: JobStore, job_id: str, error: JobError) -> Job | None:
    """Mark the job failed (unless it already ended) and announce how it ended."""
    job = store.mark_failed(job_id, error) or store.get(job_id)
    if job is not None:
        announce_once(store, job)
    return job


def announce_once(store: JobStore, job: Job) -> None:
    """Publish the terminal event unless it was already published.

    The flag is set after PutEvents succeeds; a crash between the two can repeat the event once, so consumers are
    told to dedupe on (job_id, status). Nothing can make it disappear.
    """
    if not job.is_terminal or job.status == DELETED or job.terminal_event_sent:
        return
    publish_terminal(job)
    store.mark_terminal_event_sent(job.job_id)
