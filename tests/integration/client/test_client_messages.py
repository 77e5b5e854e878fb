"""Every API error code gets a one-line message and the right exit code; progress output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from faceswap_client.commandline import exit_code_for
from faceswap_client.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unauthenticated,
    ValidationFailed,
)
from faceswap_client.exit_codes import ExitCode
from faceswap_client.messages import API_ERROR_HINTS, JOB_ERROR_HINTS, describe_job_error
from faceswap_client.progress import Progress
from faceswap_client.transport import api_error

ARCHITECTURE = (Path(__file__).resolve().parents[3] / "docs" / "architecture.md").read_text()
API_TABLE = ARCHITECTURE.split("Job error codes")[0]
API_CODES = [(int(s), c) for s, c in re.findall(r"^\| (\d{3}) \| `([A-Z_]+)` \|", API_TABLE, re.M)]
JOB_CODES = re.findall(r"^\| `([A-Z_]+)` \|", ARCHITECTURE.split("Job error codes")[1].split("\n## ")[0], re.M)
EXPECTED_EXIT = {401: ExitCode.AUTH, 403: ExitCode.AUTH, 404: ExitCode.NOT_FOUND, 500: ExitCode.SERVICE}
EXPECTED_CLASS = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
    500: ServerError,
}


def test_the_tables_were_read():
    assert len(API_CODES) >= 17 and len(JOB_CODES) >= 21


@pytest.mark.parametrize(("status", "code"), API_CODES)
def test_every_api_error_code_has_a_one_line_message_and_exit_code(status: int, code: str):
    error = api_error(status, code, "Server says\nsomething.")
    assert code in API_ERROR_HINTS
    assert error.message.startswith(f"{code}: {API_ERROR_HINTS[code]}")
    assert "\n" not in error.message and "Server says something." in error.message
    assert type(error) is EXPECTED_CLASS.get(status, InvalidRequest) and error.code == code
    assert exit_code_for(error) == EXPECTED_EXIT.get(status, ExitCode.REJECTED)


@pytest.mark.parametrize("code", JOB_CODES)
def test_every_job_error_code_has_a_hint(code: str):
    assert code in JOB_ERROR_HINTS
    assert describe_job_error(code, "details").startswith(f"{code}: details")


def test_gateway_errors_without_a_code_are_still_one_line():
    error = api_error(403, None, "Forbidden")
    assert error.message == "HTTP 403: Forbidden" and exit_code_for(error) == ExitCode.AUTH
    assert exit_code_for(api_error(502, None, "")) == ExitCode.SERVICE


def test_progress_rewrites_one_line_on_a_terminal():
    stream = io.StringIO()
    ticks = iter([0.0, 1.0, 2.5, 4.0])
    progress = Progress(stream, "j1", is_tty=True, clock=lambda: next(ticks))
    progress.update("queued")
    progress.update("processing")
    progress.update("processing")
    progress.finish()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.count("\n") == 1
    assert text.endswith("job j1: processing (4.0s)\n")


def test_progress_prints_one_line_per_change_elsewhere():
    stream = io.StringIO()
    progress = Progress(stream, "j1", is_tty=False, clock=lambda: 0.0)
    for status in ("queued", "queued", "processing", "succeeded"):
        progress.update(status)
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "job j1: queued (0.0s)",
        "job j1: processing (0.0s)",
        "job j1: succeeded (0.0s)",
    ]
