"""Exceptions of the SDK, one class per kind of failure, and the CLI's own `CliError`.

Every SDK exception derives from `FaceSwapError`. Errors the API answered derive from `ApiError` and carry the API's
stable error `code` (None for API Gateway's own refusals), the HTTP status and the server's message; the class says
the category, so callers catch `NotFound` or `RateLimited` rather than compare numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faceswap_client.exit_codes import ExitCode
from faceswap_client.messages import describe_api_error

if TYPE_CHECKING:
    from faceswap_client.models import Job


class FaceSwapError(Exception):
    """Base class of every error the SDK raises; `str(error)` is one plain sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(FaceSwapError):
    """The API answered with an error status.

    Attributes: `http_status`; `code`, the API's stable error code such as ``"JOB_NOT_FOUND"`` (None when API
    Gateway answered itself, e.g. a bad signature); `server_message`, the API's own words.
    """

    def __init__(self, http_status: int, code: str | None, message: str) -> None:
        super().__init__(describe_api_error(code, message, http_status))
        self.http_status = http_status
        self.code = code
        self.server_message = message


class InvalidRequest(ApiError):
    """400, 405, 413, 415 and other 4xx without a class of their own: the request itself was wrong."""


class Unauthenticated(ApiError):
    """401: no valid credentials (missing or expired token, bad signature)."""


class PermissionDenied(ApiError):
    """403: the caller is known but not allowed to do this (or API Gateway refused the signature)."""


class NotFound(ApiError):
    """404: no such job (unknown, deleted, or another caller's), or no such route."""


class Conflict(ApiError):
    """409: the job is in a state that forbids the request (e.g. ``UPLOADS_INCOMPLETE``, ``JOB_IN_PROGRESS``,
    ``WEBHOOK_DELIVERY_PENDING``)."""


class ValidationFailed(ApiError):
    """422: a value of the request was refused (e.g. ``VALIDATION_ERROR``, ``INVALID_WEBHOOK_URL``)."""


class RateLimited(ApiError):
    """429: too many requests or jobs; `retry_after` is the server's Retry-After in seconds (None if it gave none)."""

    def __init__(self, http_status: int, code: str | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(http_status, code, message)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the service failed; retrying later may work."""


class NetworkError(FaceSwapError):
    """The request got no HTTP answer: connection refused, DNS failure, TLS failure or a timeout."""


class CredentialsError(FaceSwapError):
    """No usable credentials were found for signing (e.g. no AWS credentials in the chain, botocore missing)."""


class InvalidImage(FaceSwapError, ValueError):
    """A local input image is missing, unreadable, empty, over 5 MiB, or not a JPEG or PNG (checked before any
    request is sent)."""


class StorageError(FaceSwapError):
    """S3 refused an upload form or a result download; `http_status` and S3's `code` (e.g. ``AccessDenied``)."""

    def __init__(self, message: str, http_status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code


class ChecksumMismatch(FaceSwapError):
    """The downloaded result's sha256 is not the one the API gave; nothing was written."""

    def __init__(self, message: str, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class JobFailed(FaceSwapError):
    """The job ended in `failed`; `job.error.code` (also `code`) says why."""

    def __init__(self, job: Job) -> None:
        code = job.error.code if job.error else "UNKNOWN"
        detail = job.error.message if job.error else ""
        super().__init__(f"job {job.job_id} failed: {code}" + (f": {detail}" if detail else ""))
        self.job = job
        self.code = code


class ResultNotReady(FaceSwapError):
    """A result was asked for a job that has not succeeded (yet); `job` is the job as last seen."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.job_id} is {job.status}: it has no result to download")
        self.job = job


class WaitTimeout(FaceSwapError, TimeoutError):
    """`wait` gave up before the job finished; the job goes on. `job` is the job as last seen."""

    def __init__(self, job: Job, timeout: float) -> None:
        super().__init__(f"job {job.job_id} is still {job.status} after {timeout:g} s")
        self.job = job
        self.timeout = timeout


class WebhookVerificationError(FaceSwapError, ValueError):
    """A webhook delivery failed verification (bad or missing signature, stale timestamp, malformed body)."""


class CliError(Exception):
    """An error of the `faceswap` command itself, reported in one line before exiting with `exit_code`."""

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message
