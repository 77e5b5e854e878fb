"""The three failure classes every provider adapter raises, and all the workflow acts on.

The class names are Step Functions error names: the state machine retries `ProviderTransientError`, the submit step
fails the job on `ProviderPermanentError` with its `job_error_code`, and never resubmits after
`ProviderOutcomeUnknown`. Renaming one means changing statemachine/face_swap.asl.json with it.
"""

from __future__ import annotations

from faceswap.domain.errors import TransientError


class ProviderError(Exception):
    """Any failed call to the provider. Never carries the API key (messages are scrubbed by the client)."""

    default_job_error_code = "INTERNAL_ERROR"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        job_error_code: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" + (f" (HTTP {http_status})" if http_status else ""))
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.job_error_code = job_error_code or self.default_job_error_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r}, job_error_code={self.job_error_code!r})"
        )

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Keyword-only fields would be lost by the default exception pickling (e.g. across process pools).
        return _rebuild, (type(self), self.code, self.message, self.http_status, self.request_id, self.job_error_code)


def _rebuild(
    cls: type[ProviderError],
    code: str,
    message: str,
    http_status: int | None,
    request_id: str | None,
    job_error_code: str,
) -> ProviderError:
    return cls(code, message, http_status=http_status, request_id=request_id, job_error_code=job_error_code)


class ProviderTransientError(ProviderError, TransientError):
    """Worth retrying: rate limits, 5xx, timeouts, broken connections, unreadable answers."""

    default_job_error_code = "PROVIDER_UNAVAILABLE"


class ProviderPermanentError(ProviderError):
    """Retrying cannot help: face/image errors, auth, no credits, failed or unknown task."""

    default_job_error_code = "PROVIDER_TASK_FAILED"


class ProviderOutcomeUnknown(ProviderError):
    """A submit was sent but we cannot tell whether the provider accepted it (it may have spent credits)."""

    default_job_error_code = "PROVIDER_OUTCOME_UNKNOWN"
