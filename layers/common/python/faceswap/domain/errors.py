"""Stable error codes: the API's (with HTTP statuses) and the job's (recorded on the job and in `FaceSwap Failed`).

The exception class names below that reach Step Functions are part of the workflow's contract: the ASL retries
`TransientError` subclasses by name and routes everything else to the failure path.
"""

from __future__ import annotations

from dataclasses import dataclass

API_ERROR_STATUS: dict[str, int] = {
    "MALFORMED_JSON": 400,
    "INVALID_JOB_ID": 400,
    "INVALID_IDEMPOTENCY_KEY": 400,
    "INVALID_CURSOR": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "JOB_NOT_FOUND": 404,
    "ROUTE_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "UPLOADS_INCOMPLETE": 409,
    "JOB_NOT_STARTABLE": 409,
    "JOB_IN_PROGRESS": 409,
    "WEBHOOK_DELIVERY_PENDING": 409,
    "WEBHOOK_NOT_CONFIGURED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "VALIDATION_ERROR": 422,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "INVALID_WEBHOOK_URL": 422,
    "CONSENT_REQUIRED": 422,
    "THROTTLED": 429,
    "TOO_MANY_ACTIVE_JOBS": 429,
    "DAILY_QUOTA_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
}

JOB_ERROR_CODES: frozenset[str] = frozenset(
    {
        "IMAGE_MISSING",
        "IMAGE_EMPTY",
        "IMAGE_TOO_LARGE",
        "UNSUPPORTED_IMAGE_TYPE",
        "IMAGE_DECODE_FAILED",
        "IMAGE_DIMENSIONS_TOO_LARGE",
        "IMAGE_DIMENSIONS_TOO_SMALL",
        "DECOMPRESSION_BOMB",
        "FACE_NOT_FOUND",
        "FACE_TOO_SMALL",
        "FACE_COUNT_INVALID",
        "PROVIDER_REJECTED_IMAGE",
        "PROVIDER_AUTH_FAILED",
        "PROVIDER_NO_CREDITS",
        "PROVIDER_TASK_FAILED",
        "PROVIDER_UNAVAILABLE",
        "PROVIDER_OUTCOME_UNKNOWN",
        "JOB_TIMED_OUT",
        "RESULT_EXPIRED",
        "RESULT_INVALID",
        "RESULT_UNAVAILABLE",
        "PROVENANCE_FAILED",
        "CONSENT_REQUIRED",
        "INVALID_REQUEST",
        "INPUT_INCOMPLETE",
        "DAILY_QUOTA_EXCEEDED",
        "INTERNAL_ERROR",
    }
)


class ApiError(Exception):
    """An error the HTTP API answers with `{"error": {"code", "message"}}`."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = API_ERROR_STATUS[code]
        self.headers = headers or {}


@dataclass(frozen=True)
class JobError:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class JobFailure(Exception):
    """A permanent failure of a job: the workflow routes it to the failure step, which records `error`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.error = JobError(code if code in JOB_ERROR_CODES else "INTERNAL_ERROR", message)


class TransientError(Exception):
    """Worth retrying (Step Functions retries by this class name, with back-off and jitter)."""


class StorageTransientError(TransientError):
    """S3 or DynamoDB throttled or briefly unavailable."""


class StorageRequestError(Exception):
    """S3 or DynamoDB refused a request's parameters before sending it (botocore's ParamValidationError): a bug or
    a value we should have encoded; retrying cannot help."""


class ResultUnavailableError(TransientError):
    """The result URL could not be read right now (5xx, timeout); the URL itself may still be fine."""


class SecretUnavailableError(TransientError):
    """Secrets Manager throttled or could not be reached while reading the provider's API key."""
