"""What each subcommand does, given a configured API client."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from faceswap_client.api import DownloadRefused, FaceSwapApi, Job
from faceswap_client.errors import ApiError, CliError
from faceswap_client.exit_codes import ExitCode
from faceswap_client.images import LocalImage, load_local_image
from faceswap_client.messages import describe_job_error
from faceswap_client.output import emit, job_summary
from faceswap_client.progress import Progress

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII without spaces, like the API
TERMINAL = {"succeeded", "failed"}
# After the uploads the S3 event may not have reached the service yet; give it this long before giving up.
START_GRACE_SECONDS = 15.0


@dataclass
class Console:
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    as_json: bool = False

    def note(self, message: str) -> None:
        self.err.write(f"faceswap: {message}\n")
        self.err.flush()


@dataclass(frozen=True)
class SwapOptions:
    target: Path
    template: Path
    output: Path
    wait: bool = True
    timeout: float = 600.0
    poll_interval: float = 2.0
    client_reference: str | None = None
    idempotency_key: str | None = None
    quiet: bool = False


def check_job_id(job_id: str) -> str:
    if not JOB_ID.match(job_id):
        raise CliError(ExitCode.USAGE, f"{job_id!r} is not a job id (32 lowercase hexadecimal characters)")
    return job_id


def check_swap_options(options: SwapOptions) -> tuple[LocalImage, LocalImage]:
    """Every local problem is reported before a job is created."""
    if options.idempotency_key is not None and not IDEMPOTENCY_KEY.match(options.idempotency_key):
        raise CliError(ExitCode.USAGE, "--idempotency-key must be 1 to 255 printable ASCII characters")
    if options.client_reference is not None and not 1 <= len(options.client_reference) <= 128:
        raise CliError(ExitCode.USAGE, "--client-reference must be 1 to 128 characters")
    if options.timeout <= 0 or options.poll_interval <= 0:
        raise CliError(ExitCode.USAGE, "--timeout and --poll-interval must be positive")
    if options.output.is_dir():
        raise CliError(ExitCode.USAGE, f"output {options.output} is a directory; give a file name")
    return load_local_image(options.target, "target"), load_local_image(options.template, "template")


def swap(api: FaceSwapApi, options: SwapOptions, console: Console) -> int:
    target, template = check_swap_options(options)
    created = api.create_swap(
        target_content_type=target.content_type,
        template_content_type=template.content_type,
        client_reference=options.client_reference,
        idempotency_key=options.idempotency_key,
    )
    job_id = check_job_id(str(created.get("job_id", "")))
    if created.get("status") == "awaiting_upload":
        uploads = created.get("uploads") or {}
        if not {"target", "template"} <= set(uploads):
            raise CliError(ExitCode.SERVICE, f"the API gave no upload forms for job {job_id}")
        api.upload(uploads["target"], target, "target")
        api.upload(uploads["template"], template, "template")
        job = start_when_uploaded(api, job_id, options.poll_interval)
    else:
        # An idempotent replay of a job that has already started: follow it, do not upload or start again.
        job = api.get_swap(job_id)
    if not options.wait:
        emit(console.out, {"job_id": job_id, "status": job.get("status")}, as_json=console.as_json)
        return ExitCode.OK
    job = wait_for_job(api, job, options, console)
    if job["status"] == "failed":
        return report_failure(job, console)
    return save_result(api, job, options.output, console)


def start_when_uploaded(api: FaceSwapApi, job_id: str, poll_interval: float) -> Job:
    """POST .../start (harmless if the S3 event already started it), retrying while the uploads are not seen yet."""
    deadline = time.monotonic() + START_GRACE_SECONDS
    while True:
        try:
            return api.start_swap(job_id)
        except ApiError as exc:
            if exc.code == "JOB_NOT_STARTABLE":
                # The service re-checks each upload and fails the job on a bad image, maybe before this start:
                # report that failure (exit 1) rather than the refused start.
                job = api.get_swap(job_id)
                if job.get("status") == "failed":
                    return job
            if exc.code != "UPLOADS_INCOMPLETE" or time.monotonic() >= deadline:
                raise
        time.sleep(min(poll_interval, 1.0))


def wait_for_job(api: FaceSwapApi, job: Job, options: SwapOptions, console: Console) -> Job:
    job_id = job["job_id"]
    progress = Progress(console.err, job_id, enabled=not options.quiet)
    deadline = time.monotonic() + options.timeout
    try:
        while True:
            progress.update(str(job.get("status")))
            if job.get("status") in TERMINAL:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                progress.finish()
                emit(console.out, {"job_id": job_id, "status": job.get("status")}, as_json=console.as_json)
                raise CliError(
                    ExitCode.TIMED_OUT,
                    f"timed out after {options.timeout:g}s waiting for job {job_id} (last status: "
                    f"{job.get('status')}); it goes on: check it later with `faceswap status {job_id}`",
                )
            time.sleep(min(options.poll_interval, remaining))
            job = api.get_swap(job_id)
    finally:
        progress.finish()


def report_failure(job: Job, console: Console) -> int:
    error = job.get("error") or {}
    code = str(error.get("code") or "UNKNOWN")
    console.note(f"job {job['job_id']} failed: {describe_job_error(code, str(error.get('message') or ''))}")
    fields: dict[str, Any] = {"job_id": job["job_id"], "status": "failed", "error_code": code}
    if console.as_json:
        fields["error_message"] = error.get("message")
    emit(console.out, fields, as_json=console.as_json)
    return ExitCode.JOB_FAILED


def save_result(api: FaceSwapApi, job: Job, output: Path, console: Console) -> int:
    result = job.get("result") or {}
    if not result.get("url") or not result.get("sha256"):
        raise CliError(ExitCode.SERVICE, f"job {job['job_id']} succeeded but the API gave no result URL and sha256")
    try:
        download = api.download(result["url"], output, result["sha256"])
    except DownloadRefused as exc:
        if exc.http_status not in (403, 404):
            raise
        # The presigned GET is short-lived: fetch the job again for a fresh one, once.
        result = api.get_swap(job["job_id"]).get("result") or {}
        download = api.download(str(result.get("url")), output, str(result.get("sha256")))
    emit(
        console.out,
        {
            "job_id": job["job_id"],
            "sha256": download.sha256,
            "size": download.size,
            "content_type": result.get("content_type"),
            "output": str(download.path),
        }
        if console.as_json
        else {"job_id": job["job_id"], "sha256": download.sha256},
        as_json=console.as_json,
    )
    return ExitCode.OK


def status(api: FaceSwapApi, job_id: str, console: Console) -> int:
    job = api.get_swap(check_job_id(job_id))
    if console.as_json:
        emit(console.out, job, as_json=True)
    else:
        emit(console.out, job_summary(job), as_json=False)
    return ExitCode.OK


def delete(api: FaceSwapApi, job_id: str, console: Console) -> int:
    answer = api.delete_swap(check_job_id(job_id))
    emit(console.out, {"job_id": answer.get("job_id", job_id), "status": answer.get("status")}, as_json=console.as_json)
    return ExitCode.OK


@dataclass(frozen=True)
class EventsOptions:
    follow: bool = False
    after: int = 0
    job_id: str | None = None
    count: int | None = None
    poll_interval: float = 1.0


def events(api: FaceSwapApi, options: EventsOptions, console: Console) -> int:
    """Print local-stack events as JSON lines (`{"seq", "event"}`); with --follow keep polling for new ones."""
    if options.job_id is not None:
        check_job_id(options.job_id)
    after, printed = options.after, 0
    while True:
        page = api.local_events(after)
        for item in page.get("events", []):
            after = max(after, int(item.get("seq", after)))
            detail = (item.get("event") or {}).get("detail") or {}
            if options.job_id is not None and detail.get("job_id") != options.job_id:
                continue
            emit(console.out, item, as_json=True)
            printed += 1
            if options.count is not None and printed >= options.count:
                return ExitCode.OK
        after = max(after, int(page.get("next", after)))
        if not options.follow:
            return ExitCode.OK
        time.sleep(options.poll_interval)
