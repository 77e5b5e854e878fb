"""The API subcommands of `faceswap` (swap, status, list, download, delete, events), each a `register_*` that adds
its parser and a handler that does the work through the SDK's `Client`."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from faceswap_client.commandline import Console, Context, Subparsers, add_command, positive_float
from faceswap_client.errors import ApiError, CliError, JobFailed, ResultNotReady, WaitTimeout
from faceswap_client.exit_codes import ExitCode
from faceswap_client.messages import describe_job_error
from faceswap_client.models import Download, Job
from faceswap_client.output import emit, job_summary
from faceswap_client.progress import Progress

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII without spaces, like the API
JOB_STATUSES = ("awaiting_upload", "queued", "processing", "succeeded", "failed")
MAX_PAGE = 100


def check_job_id(job_id: str) -> str:
    if not JOB_ID.match(job_id):
        raise CliError(ExitCode.USAGE, f"{job_id!r} is not a job id (32 lowercase hexadecimal characters)")
    return job_id


def check_output(output: Path) -> Path:
    if output.is_dir():
        raise CliError(ExitCode.USAGE, f"output {output} is a directory; give a file name")
    return output


# -- swap --------------------------------------------------------------------------------------------------------
def register_swap(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    swap_parser = add_command(sub, "swap", "swap faces: create, upload, start, wait, download", swap, [connection])
    swap_parser.add_argument("target", type=Path, help="photo whose face is replaced (JPEG or PNG, at most 5 MiB)")
    swap_parser.add_argument("template", type=Path, help="photo that gives the face (JPEG or PNG, at most 5 MiB)")
    swap_parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the result")
    swap_parser.add_argument(
        "--no-wait", dest="wait", action="store_false", help="start the job and exit (fetch it later with download)"
    )
    swap_parser.add_argument(
        "--timeout",
        type=positive_float,
        default=600.0,
        metavar="S",
        help="give up waiting after S seconds (exit 6; default %(default)s)",
    )
    swap_parser.add_argument(
        "--poll-interval",
        type=positive_float,
        default=2.0,
        metavar="S",
        help="seconds between status checks (default %(default)s)",
    )
    swap_parser.add_argument("--client-reference", help="your own reference, echoed on the job and its events")
    swap_parser.add_argument("--idempotency-key", help="repeat a request safely: the same key returns the same job")
    swap_parser.add_argument(
        "--webhook-url", metavar="URL", help="POST the job's outcome to this https URL, signed (Standard Webhooks)"
    )
    swap_parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def check_swap_options(args: argparse.Namespace) -> None:
    """Every local problem is reported before a job is created (the images are checked by the SDK, also first)."""
    if args.idempotency_key is not None and not IDEMPOTENCY_KEY.match(args.idempotency_key):
        raise CliError(ExitCode.USAGE, "--idempotency-key must be 1 to 255 printable ASCII characters")
    if args.client_reference is not None and not 1 <= len(args.client_reference) <= 128:
        raise CliError(ExitCode.USAGE, "--client-reference must be 1 to 128 characters")
    check_output(args.output)


def swap(args: argparse.Namespace, context: Context) -> int:
    check_swap_options(args)
    console = context.console
    progress: Progress | None = None

    def show(job: Job) -> None:
        nonlocal progress
        if progress is None:
            progress = Progress(console.err, job.job_id, enabled=not args.quiet)
        progress.update(job.status)

    try:
        job = context.client.swap(
            args.target,
            args.template,
            webhook=args.webhook_url,
            wait=args.wait,
            client_reference=args.client_reference,
            idempotency_key=args.idempotency_key,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            on_update=show,
        )
    except JobFailed as failure:
        finish(progress)
        return report_failure(failure.job, console)
    except WaitTimeout as timeout:
        finish(progress)
        job_id = timeout.job.job_id
        emit(console.out, {"job_id": job_id, "status": timeout.job.status}, as_json=console.as_json)
        raise CliError(
            ExitCode.TIMED_OUT,
            f"timed out after {args.timeout:g}s waiting for job {job_id} (last status: {timeout.job.status}); "
            f"it goes on: check it later with `faceswap status {job_id}` and fetch it with `faceswap download`",
        ) from None
    finally:
        finish(progress)
    if not args.wait:
        emit(console.out, {"job_id": job.job_id, "status": job.status}, as_json=console.as_json)
        return ExitCode.OK
    return print_download(job, context.client.download(job, args.output), console)


def finish(progress: Progress | None) -> None:
    if progress is not None:
        progress.finish()


def report_failure(job: Job, console: Console) -> int:
    code = job.error.code if job.error else "UNKNOWN"
    message = job.error.message if job.error else ""
    console.note(f"job {job.job_id} failed: {describe_job_error(code, message)}")
    fields: dict[str, Any] = {"job_id": job.job_id, "status": "failed", "error_code": code}
    if console.as_json:
        fields["error_message"] = message or None
    emit(console.out, fields, as_json=console.as_json)
    return ExitCode.JOB_FAILED


def print_download(job: Job, download: Download, console: Console) -> int:
    fields: dict[str, Any] = {"job_id": job.job_id, "sha256": download.sha256}
    if console.as_json:
        content_type = job.result.content_type if job.result else None
        fields.update({"size": download.size, "content_type": content_type, "output": str(download.path)})
    emit(console.out, fields, as_json=console.as_json)
    return ExitCode.OK


# -- download ----------------------------------------------------------------------------------------------------
def register_download(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    parser = add_command(sub, "download", "download a succeeded job's result (sha256 checked)", download, [connection])
    parser.add_argument("job_id")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the result")


def download(args: argparse.Namespace, context: Context) -> int:
    job_id = check_job_id(args.job_id)
    check_output(args.output)
    console = context.console
    try:
        job = context.client.get(job_id)
        return print_download(job, context.client.download(job, args.output), console)
    except JobFailed as failure:
        return report_failure(failure.job, console)
    except ResultNotReady as not_ready:
        emit(console.out, {"job_id": job_id, "status": not_ready.job.status}, as_json=console.as_json)
        raise CliError(
            ExitCode.REJECTED,
            f"job {job_id} is {not_ready.job.status} and has no result yet; try again once it has succeeded",
        ) from None


# -- status, delete ----------------------------------------------------------------------------------------------
def register_status(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    add_command(sub, "status", "show a job", status, [connection]).add_argument("job_id")


def status(args: argparse.Namespace, context: Context) -> int:
    job = context.client.get(check_job_id(args.job_id))
    console = context.console
    emit(console.out, dict(job.raw) if console.as_json else job_summary(job.raw), as_json=console.as_json)
    return ExitCode.OK


def register_delete(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    add_command(sub, "delete", "delete a job's images and result", delete, [connection]).add_argument("job_id")


def delete(args: argparse.Namespace, context: Context) -> int:
    job_id = check_job_id(args.job_id)
    context.client.delete(job_id)
    emit(context.console.out, {"job_id": job_id, "status": "deleted"}, as_json=context.console.as_json)
    return ExitCode.OK


# -- list --------------------------------------------------------------------------------------------------------
def register_list(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    parser = add_command(sub, "list", "list your jobs, newest first", list_jobs, [connection])
    parser.add_argument("--status", choices=JOB_STATUSES, help="only jobs with this status")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--limit", type=int, default=20, metavar="N", help="print at most N jobs (default 20)")
    amount.add_argument("--all", action="store_true", help="print every job (all pages)")
    parser.add_argument("--cursor", help="continue after the jobs of an earlier listing (its next cursor)")


def list_jobs(args: argparse.Namespace, context: Context) -> int:
    """One line per job (JSON lines with --json); when more remain, stderr says how to get them."""
    if not args.all and args.limit < 1:
        raise CliError(ExitCode.USAGE, "--limit must be at least 1")
    console = context.console
    remaining: int | None = None if args.all else args.limit
    cursor: str | None = args.cursor
    while True:
        size = MAX_PAGE if remaining is None else min(MAX_PAGE, remaining)
        page = context.client.list_page(status=args.status, limit=size, cursor=cursor)
        for job in page.items:
            emit(console.out, dict(job.raw) if console.as_json else list_line(job), as_json=console.as_json)
        if remaining is not None:
            remaining -= len(page.items)
        cursor = page.next_cursor
        if cursor is None or (remaining is not None and remaining <= 0):
            break
    if cursor is not None:
        console.note(
            f"more jobs: faceswap list --cursor {cursor}" + (f" --status {args.status}" if args.status else "")
        )
    return ExitCode.OK


def list_line(job: Job) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "job_id": job.job_id,
        "status": job.status,
        "created_at": job.raw.get("created_at"),
        "client_reference": job.client_reference,
    }
    if job.error:
        fields["error_code"] = job.error.code
    if job.webhook:
        fields["webhook"] = job.webhook.status
    return fields


# -- events (local stack) ----------------------------------------------------------------------------------------
def register_events(sub: Subparsers, connection: argparse.ArgumentParser) -> None:
    parser = add_command(sub, "events", "print emitted events (local stack only)", events, [connection])
    parser.add_argument("-f", "--follow", action="store_true", help="keep waiting for new events")
    parser.add_argument("--after", type=int, default=0, metavar="SEQ", help="only events after this sequence number")
    parser.add_argument("--job", dest="job_id", help="only the events of this job")
    parser.add_argument("--count", type=int, metavar="N", help="exit after printing N events")
    parser.add_argument(
        "--poll-interval",
        type=positive_float,
        default=1.0,
        metavar="S",
        help="seconds between polls with --follow (default %(default)s)",
    )


def local_events(context: Context, after: int) -> dict[str, Any]:
    """`GET /local/events` of the local stack: `{"events": [{"seq", "event"}], "next"}`."""
    try:
        page = context.client.request("GET", "/local/events", params={"after": after})
    except ApiError as exc:
        if exc.http_status in (404, 405):
            raise CliError(
                ExitCode.NOT_FOUND, "this API has no /local/events: the events command works with the local stack"
            ) from None
        raise
    if not isinstance(page, dict):
        raise CliError(ExitCode.SERVICE, "GET /local/events answered with JSON that is not an object")
    return page


def events(args: argparse.Namespace, context: Context) -> int:
    """Print local-stack events as JSON lines (`{"seq", "event"}`); with --follow keep polling for new ones."""
    if args.job_id is not None:
        check_job_id(args.job_id)
    after, printed = args.after, 0
    while True:
        page = local_events(context, after)
        for item in page.get("events", []):
            after = max(after, int(item.get("seq", after)))
            detail = (item.get("event") or {}).get("detail") or {}
            if args.job_id is not None and detail.get("job_id") != args.job_id:
                continue
            emit(context.console.out, item, as_json=True)
            printed += 1
            if args.count is not None and printed >= args.count:
                return ExitCode.OK
        after = max(after, int(page.get("next", after)))
        if not args.follow:
            return ExitCode.OK
        time.sleep(args.poll_interval)
