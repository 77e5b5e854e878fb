"""The Step Functions steps: validate, submit, query, archive, record failure.

Each step reads the job from the table (the execution state carries only the job id, the deadline and the poll
state), does one thing, and writes conditionally, so a retried or duplicated step is harmless.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from faceswap.adapters.job_table import JobStore
from faceswap.adapters.latency_store import LatencyStats
from faceswap.adapters.storage import EXTENSIONS, Storage, result_key
from faceswap.config import MAX_IMAGE_BYTES, settings
from faceswap.domain import ids
from faceswap.domain.clock import now_epoch, parse_iso
from faceswap.domain.errors import JobError, JobFailure, ResultUnavailableError
from faceswap.domain.images import InvalidImageError, human_size, inspect_image, sniff_image_type
from faceswap.domain.job import FAILED, PROCESSING, QUEUED, ROLES, SUCCEEDED, Job
from faceswap.domain.polling import PollPolicy
from faceswap.provenance import unlabelled_provenance
from faceswap.provider import (
    Photo,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    factory,
)
from faceswap.usecases.job_endings import announce_once, fail_job

if TYPE_CHECKING:
    from faceswap.provenance.labelling import Labelled

# The poll's own status in the execution state (the ASL's Choice reads it), not a job status.
POLL_RUNNING, POLL_SUCCEEDED, POLL_FAILED, POLL_TIMED_OUT = "running", "succeeded", "failed", "timed_out"
# Archive keeps this much of its invocation for what follows the download: store the result in S3 (up to 25 MiB),
# record it on the job, announce it. A download that would eat into it stops and is retried in a fresh invocation.
ARCHIVE_RESERVE_SECONDS = 20.0
# Below this much time for the download, do not start one: the step is retried with a whole invocation.
ARCHIVE_MIN_DOWNLOAD_SECONDS = 5.0
ARCHIVE_MAX_DOWNLOAD_SECONDS = 120.0
RESULT_STALL_SECONDS = 10.0  # no byte for this long: the result host stalled


def poll_state(
    status: str,
    polls: int,
    *,
    next_wait_seconds: int = 0,
    result_url: str | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The poll state in the execution: always every key, so the ASL can select them without optional paths."""
    return {
        "status": status,
        "polls": polls,
        "next_wait_seconds": next_wait_seconds,
        "result_url": result_url,
        "error": error,
    }


def job_id_of(event: dict[str, Any]) -> str:
    job_id = event.get("job_id") if isinstance(event, dict) else None
    if not ids.is_job_id(job_id):
        raise JobFailure("INTERNAL_ERROR", "The step's input has no valid job_id.")
    return str(job_id)


class Steps:
    def __init__(self, store: JobStore | None = None, storage: Storage | None = None) -> None:
        self.config = settings()
        self.store = store or JobStore()
        self.storage = storage or Storage(self.config.bucket_name)

    # -- Validate: before any credit is spent ------------------------------------------------------------------
    def validate(self, job_id: str) -> dict[str, Any]:
        job = self._active(job_id)
        digests: dict[str, dict[str, str]] = {}
        for role in ROLES:
            data, total = self._read_sized(job, role)
            try:
                inspect_image(data, total_size=total)
            except InvalidImageError as error:
                raise JobFailure(error.code, f"The {role} image was rejected: {error.message}") from error
            # The result's C2PA manifest names the inputs by these hashes only (no copies, no thumbnails).
            digests[role] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "content_type": sniff_image_type(data[:16]) or "image/jpeg",
            }
        if job.input_digests != digests:
            self.store.record_input_digests(job_id, digests)
        deadline = job.deadline_at or int(now_epoch() + self.config.job_timeout_seconds)
        if job.deadline_at is None:
            self.store.set_deadline(job_id, deadline)
        return {"deadline_at": deadline}

    def _read_sized(self, job: Job, role: str) -> tuple[bytes, int]:
        ref = job.inputs[role]
        sized = self.storage.read_sized(ref["key"], max_bytes=MAX_IMAGE_BYTES, bucket=ref["bucket"])
        if sized is None:
            raise JobFailure("IMAGE_MISSING", f"The {role} image does not exist.")
        return sized

    def _photo(self, job: Job, role: str) -> Photo:
        """The photo for the provider. Validate already decoded it; here a size cap and its magic bytes suffice
        (the provider refuses, and does not bill, anything that changed underneath into garbage)."""
        data, total = self._read_sized(job, role)
        if total > MAX_IMAGE_BYTES:
            raise JobFailure(
                "IMAGE_TOO_LARGE",
                f"The {role} image is {human_size(total)} ({total:,} bytes); "
                f"the limit is {human_size(MAX_IMAGE_BYTES)}.",
            )
        try:
            return Photo.from_bytes(role, data)
        except ValueError as error:
            raise JobFailure("UNSUPPORTED_IMAGE_TYPE", f"The {role} image is not a JPEG or PNG.") from error

    # -- Submit: the only call that spends credits -------------------------------------------------------------
    def submit(self, job_id: str) -> dict[str, Any]:
        job = self._active(job_id)
        if job.provider_task_id:
            return self._first_poll(job)  # a repeated step: never submit twice
        if job.submit_in_flight:
            raise JobFailure(
                "PROVIDER_OUTCOME_UNKNOWN",
                "An earlier submission was sent but its outcome is unknown; not resubmitting.",
            )
        photos = [self._photo(job, role) for role in ROLES]
        # Before the in-flight marker: a missing key or a throttled Secrets Manager must leave the job resubmittable.
        try:
            provider = factory.provider()
        except ProviderPermanentError as error:
            raise JobFailure(error.job_error_code, error.message) from error
        attempt = uuid.uuid4().hex
        # A condition failure may be this attempt's own write, applied on a try whose answer was lost (the SDK then
        # retried it): only a marker held by another attempt is a conflict.
        if self.store.begin_submit(job_id, attempt) is None and not self.store.holds_submit(job_id, attempt):
            return self.submit_after_conflict(job_id)
        try:
            submitted = provider.submit(photos[0], photos[1])
        except ProviderOutcomeUnknown as error:
            # Leave the marker: the provider may have accepted (and charged); a retry must not send again.
            raise JobFailure("PROVIDER_OUTCOME_UNKNOWN", error.message) from error
        except ProviderPermanentError as error:
            self.store.clear_submit_marker(job_id)
            raise JobFailure(error.job_error_code, error.message) from error
        except ProviderTransientError:
            self.store.clear_submit_marker(job_id)  # definitely not accepted (429, 5xx, no connection): retry is safe
            raise
        updated = self.store.record_submitted(job_id, provider.name, submitted.task_id) or self.store.require(job_id)
        return self._first_poll(updated)

    def submit_after_conflict(self, job_id: str) -> dict[str, Any]:
        job = self.store.require(job_id)
        if job.provider_task_id:
            return self._first_poll(job)
        raise JobFailure("PROVIDER_OUTCOME_UNKNOWN", "Another submission of this job is in flight.")

    def _first_poll(self, job: Job) -> dict[str, Any]:
        return poll_state(POLL_RUNNING, job.polls, next_wait_seconds=self._policy().first_wait(self._remaining(job)))

    # -- Query: one poll, and the next wait --------------------------------------------------------------------
    def query(
        self, job_id: str, last_wait_seconds: float | None = None, remaining_ms: Callable[[], int] | None = None
    ) -> dict[str, Any]:
        """Poll the provider; while the next wait is short, wait and poll again inside this invocation.

        A wait inside the Lambda costs a few GB-milliseconds; a turn of the state machine's loop costs three
        transitions, several times more. So short waits (around the provider's typical completion time) happen
        here, within `POLL_INLINE_SECONDS`, and long ones in the Wait state, which costs nothing per second.
        """
        started = time.monotonic()
        job = self.store.require(job_id)  # one read and one write per invocation, however many polls it makes
        if job.status != PROCESSING or not job.provider_task_id:
            raise JobFailure("INTERNAL_ERROR", f"Job {job_id} is {job.status}, not processing.")
        polls = 0
        try:
            while True:
                polls += 1
                poll = self._poll_once(job, job.polls + polls, last_wait_seconds)
                wait = poll["next_wait_seconds"]
                spent = time.monotonic() - started
                if poll["status"] != POLL_RUNNING or not self._may_wait_inline(wait, spent, remaining_ms):
                    poll["inline_seconds"] = round(spent, 3)
                    return poll
                time.sleep(wait)
                last_wait_seconds = wait
        finally:
            self.store.count_polls(job_id, polls)

    def _may_wait_inline(self, wait: int, spent: float, remaining_ms: Callable[[], int] | None) -> bool:
        config = self.config
        if wait > config.poll_inline_max_wait or spent + wait > config.poll_inline_seconds:
            return False
        # Keep enough of the Lambda's time for one more provider call (connect + read timeout) and the write.
        needed = wait + config.provider_connect_timeout + config.provider_read_timeout + 5
        return remaining_ms is None or remaining_ms() / 1000 > needed

    def _poll_once(self, job: Job, polls: int, last_wait_seconds: float | None) -> dict[str, Any]:
        try:
            result = factory.provider(job.provider).query(job.provider_task_id or "")
        except ProviderPermanentError as error:
            return poll_state(POLL_FAILED, polls, error={"code": error.job_error_code, "message": error.message})
        except ProviderTransientError:
            if self._remaining(job) <= 0:
                return self._timed_out(job, polls)
            raise
        elapsed = now_epoch() - parse_iso(job.submitted_at) if job.submitted_at else 0.0
        if result.state == "succeeded":
            # The provider finished somewhere in the last wait: record that, not the moment we noticed, or the
            # estimate would drift upwards with the polling interval.
            self._latency_stats().record(elapsed, after=elapsed - last_wait_seconds if last_wait_seconds else None)
            return poll_state(POLL_SUCCEEDED, polls, result_url=result.result_url)
        remaining = self._remaining(job)
        if remaining <= 0:
            return self._timed_out(job, polls)
        return poll_state(POLL_RUNNING, polls, next_wait_seconds=self._policy().next_wait(elapsed, remaining))

    def _timed_out(self, job: Job, polls: int) -> dict[str, Any]:
        message = f"The provider did not finish within {self.config.job_timeout_seconds} s."
        return poll_state(POLL_TIMED_OUT, polls, error={"code": "JOB_TIMED_OUT", "message": message})

    # -- Archive: keep the result in our bucket, then announce it ----------------------------------------------
    def archive(self, job_id: str, result_url: str, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
        """`remaining_ms`: the Lambda context's remaining time; the download gets what is left after the reserve."""
        from faceswap.adapters.safe_fetch import FetchError, fetch_to

        job = self.store.require(job_id)
        if job.status == SUCCEEDED:
            announce_once(self.store, job)  # a repeated step: finish what the first attempt may not have
            return {"status": job.status, "result": job.result}
        if job.status != PROCESSING:
            raise JobFailure("INTERNAL_ERROR", f"Job {job_id} is {job.status}; nothing to archive.")
        budget = download_budget(remaining_ms)
        if budget < ARCHIVE_MIN_DOWNLOAD_SECONDS:
            raise ResultUnavailableError(
                f"Only {budget:.0f} s left for the download; retrying with a fresh invocation."
            )
        # Spool to /tmp beyond 1 MiB: memory stays flat for any size, and nothing reaches S3 until the whole body
        # has been checked (size, type, hash), so a failed download never leaves a partial result behind.
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            try:
                # One total deadline per attempt (RESULT_DOWNLOAD_SECONDS, within what the invocation has left): a
                # host that sends headers and then stalls costs this, not a read timeout per read.
                total = min(budget, self.config.result_download_seconds)
                fetched = fetch_to(
                    result_url,
                    spool,
                    max_bytes=self.config.max_result_bytes,
                    allow_insecure_local=self.config.allow_insecure_result_urls,
                    read_timeout=min(RESULT_STALL_SECONDS, total),
                    total_timeout=total,
                )
            except FetchError as error:
                if error.retryable:
                    raise ResultUnavailableError(error.message) from error
                raise JobFailure(error.code, error.message) from error
            spool.seek(0)
            key = result_key(job_id, fetched.content_type)
            stored: IO[bytes]
            if self.config.provenance_mode == "off":
                stored, sha256, size, provenance = spool, fetched.sha256, fetched.size, unlabelled_provenance()
            else:
                # Labelled in memory (results are at most MAX_RESULT_BYTES); nothing unlabelled is ever stored.
                labelled = self._label(job, spool.read(), fetched.content_type)
                stored, sha256 = io.BytesIO(labelled.data), hashlib.sha256(labelled.data).hexdigest()
                size, provenance = len(labelled.data), labelled.provenance
            self.storage.put_file(
                key,
                stored,
                content_type=fetched.content_type,
                metadata={
                    "sha256": sha256,
                    "provider-sha256": fetched.sha256,
                    "job-id": job_id,
                    "provider-task-id": job.provider_task_id or "",
                },
            )
        result = {
            "bucket": self.storage.bucket,
            "key": key,
            "sha256": sha256,
            "provider_sha256": fetched.sha256,
            "size": size,
            "content_type": fetched.content_type,
        }
        job = self.store.mark_succeeded(job_id, result, provenance) or self.store.require(job_id)
        announce_once(self.store, job)
        return {"status": job.status, "result": job.result, "metrics": job_metrics(job)}

    def _label(self, job: Job, data: bytes, content_type: str) -> Labelled:
        from faceswap.provenance import credentials
        from faceswap.provenance.labelling import LabelRequest, label

        digests = job.input_digests or {}
        request = LabelRequest(
            job_id=job.job_id,
            mode=self.config.provenance_mode,
            provider=job.provider or self.config.provider_name,
            input_sha256={role: value["sha256"] for role, value in digests.items()},
            input_content_types={role: value["content_type"] for role, value in digests.items()},
            consent=job.consent,
        )
        secret_arn = self.config.provenance_signing_secret_arn
        return label(data, content_type, request, lambda: credentials.load(secret_arn))

    # -- RecordFailure: the single way a job fails inside the workflow -----------------------------------------
    def record_failure(self, job_id: str, failure: dict[str, Any]) -> dict[str, Any]:
        error = error_from_failure(failure)
        job = self.store.get(job_id)
        if job is not None and job.status in (QUEUED, PROCESSING, FAILED):
            # An Archive attempt may have stored the result and then died before marking the job succeeded: a
            # failed job keeps no result.
            self.storage.delete([result_key(job_id, content_type) for content_type in EXTENSIONS])
        job = fail_job(self.store, job_id, error, self.storage)
        return {"status": job.status if job else "missing", "error": error.as_dict()}

    # -- helpers -----------------------------------------------------------------------------------------------
    def _active(self, job_id: str) -> Job:
        job = self.store.require(job_id)
        if job.status not in (QUEUED, PROCESSING):
            raise JobFailure("INTERNAL_ERROR", f"Job {job_id} is {job.status}; the workflow cannot continue.")
        return job

    def _remaining(self, job: Job) -> float:
        deadline = job.deadline_at or now_epoch() + self.config.job_timeout_seconds
        return deadline - now_epoch()

    def _latency_stats(self) -> LatencyStats:
        return LatencyStats(self.store)

    def _policy(self) -> PollPolicy:
        """The polling policy around the provider's typical completion time, learned from recent jobs once there
        are enough of them, otherwise the configured one."""
        stats = self._latency_stats()
        return PollPolicy(
            expected_seconds=stats.expected_seconds(self.config.poll_expected_seconds),
            sigma=stats.expected_sigma(0.5),
            min_seconds=self.config.poll_min_seconds,
            max_seconds=self.config.poll_max_seconds,
        )


def download_budget(remaining_ms: Callable[[], int] | None) -> float:
    """Seconds the result download may take: the invocation's remaining time less the reserve, at most the cap."""
    if remaining_ms is None:
        return ARCHIVE_MAX_DOWNLOAD_SECONDS
    return max(0.0, min(ARCHIVE_MAX_DOWNLOAD_SECONDS, remaining_ms() / 1000 - ARCHIVE_RESERVE_SECONDS))


def job_metrics(job: Job) -> dict[str, float]:
    """What a finished job tells about the provider: its latency (submitted -> our noticing) and the polls it took."""
    metrics: dict[str, float] = {"PollsPerJob": job.polls}
    if job.submitted_at and job.completed_at:
        metrics["ProviderLatencySeconds"] = round(parse_iso(job.completed_at) - parse_iso(job.submitted_at), 3)
    return metrics


# Error names Step Functions reports (the exception class names) -> the job error code when retries ran out.
_EXHAUSTED = {
    "ProviderTransientError": ("PROVIDER_UNAVAILABLE", "The provider kept failing; gave up after retries."),
    "ResultUnavailableError": ("RESULT_UNAVAILABLE", "The result could not be downloaded; gave up after retries."),
    "ProviderOutcomeUnknown": ("PROVIDER_OUTCOME_UNKNOWN", "The submission's outcome is unknown."),
    "SecretUnavailableError": (
        "PROVIDER_UNAVAILABLE",
        "The provider's API key could not be read from Secrets Manager; gave up after retries.",
    ),
    "ProvenanceTransientError": (
        "PROVENANCE_FAILED",
        "The result could not be labelled (Secrets Manager kept failing); it was not stored unlabelled.",
    ),
}


def error_from_failure(failure: dict[str, Any]) -> JobError:
    """The job error for the failure path's input: a poll error `{"code","message"}` or a Catch `{"Error","Cause"}`."""
    if isinstance(failure.get("code"), str):
        return JobError(failure["code"], str(failure.get("message", ""))[:500])
    name = str(failure.get("Error", ""))
    cause = failure.get("Cause")
    message = ""
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else {}
        message = str(parsed.get("errorMessage", "")) if isinstance(parsed, dict) else ""
    except ValueError:
        message = ""
    if name == "JobFailure" and ": " in message:
        code, _, text = message.partition(": ")
        return JobFailure(code, text[:500]).error
    if name == "StorageRequestError" and message:
        return JobError("INTERNAL_ERROR", message[:500])
    if name in _EXHAUSTED:
        code, text = _EXHAUSTED[name]
        return JobError(code, text)
    return JobError("INTERNAL_ERROR", f"The workflow failed ({name or 'unknown error'}).")
