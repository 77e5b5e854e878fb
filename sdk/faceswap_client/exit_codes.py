"""Exit codes a script can rely on (also printed by `faceswap --help` and documented in docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    JOB_FAILED = 1
    USAGE = 2
    REJECTED = 3
    AUTH = 4
    NOT_FOUND = 5
    TIMED_OUT = 6
    SERVICE = 7


EXIT_CODE_HELP = """\
exit codes:
  0  success
  1  the job failed (its error code and message are printed)
  2  usage or local input error (bad option, missing/unsupported image file)
  3  request rejected by the API or S3 (4xx other than 401/403/404), or no result yet to download
  4  authentication or authorisation failed (401/403, no credentials)
  5  not found (404: unknown, deleted or another caller's job)
  6  timed out waiting for the job
  7  service or network error (5xx, connection failure, corrupt download)
"""


def exit_code_for_status(http_status: int) -> ExitCode:
    """Map an HTTP error status to the exit code scripts see."""
    if http_status in (401, 403):
        return ExitCode.AUTH
    if http_status == 404:
        return ExitCode.NOT_FOUND
    if 400 <= http_status < 500:
        return ExitCode.REJECTED
    return ExitCode.SERVICE
