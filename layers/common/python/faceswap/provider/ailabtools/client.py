"""The AILabTools AI Face Swap adapter: an HTTP client for its async API (submit, then poll the task).

Only `requests` and the stdlib: this runs in Lambda. Every failure becomes one of the seam's `ProviderError` classes,
whose class tells the workflow what to do (retry / fail / never resubmit) and whose `job_error_code` is what the job
records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Literal

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from faceswap.provider.contract import Capabilities, Photo, QueryResult, SubmitResult, TaskState
from faceswap.provider.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
)

from .classification import ERROR_CLASS_BY_KIND, classify
from .envelope import Envelope, parse_envelope

logger = logging.getLogger(__name__)

SUBMIT_PATH = "/api/portrait/editing/ai-face-swap"
QUERY_PATH = "/api/common/query-async-task-result"
API_KEY_HEADER = "ailabapi-api-key"
PROVIDER_NAME = "ailabtools"
# One face per photo (no face selection), no options; JPEG/PNG up to 5 MiB (the API's documented limits).
CAPABILITIES = Capabilities(face_selection=False, options=frozenset(), max_image_bytes=5 * 1024 * 1024)

TASK_STATE_BY_STATUS: dict[int, TaskState] = {0: "queued", 1: "processing", 2: "succeeded"}

Operation = Literal["submit", "query"]
_MAX_MESSAGE_CHARS = 500
# A task id is stored, logged, sent back in a query string and put in S3 metadata: longer or with control characters
# it is not an id we can use. Any printable Unicode is fine (everything downstream encodes it).
MAX_TASK_ID_CHARS = 1024
# A proxy in front of the provider answers these when the upstream did not answer in time, possibly after the
# provider accepted the photos. Without the provider's own envelope we cannot tell, so the outcome is unknown.
_AMBIGUOUS_GATEWAY_STATUSES = frozenset({502, 504})
# Raised by requests before anything reaches the network: a configuration problem, not a provider one.
_REQUEST_BUILD_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class AilabClient:
    """A `FaceSwapProvider` for AILabTools. `api_key` is the key or a function returning it (read per call, so a
    rotated key is picked up)."""

    name = PROVIDER_NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str] | str,
        connect_timeout: float = 3.05,
        read_timeout: float = 25.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self._owns_session = session is None
        # A fresh Session's adapter never retries by itself, so a POST is sent at most once per submit().
        self._session = session or requests.Session()

    def __repr__(self) -> str:  # the key stays out on purpose
        return f"AilabClient(base_url={self.base_url!r}, timeout={self.timeout!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> AilabClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(self, target: Photo, template: Photo) -> SubmitResult:
        """Send both photos; spends credits when accepted. Raises ProviderOutcomeUnknown when that is unknowable."""
        key = self._resolve_key()
        files = {
            "image_target": (target.filename, target.content, target.content_type),
            "image_template": (template.filename, template.content, template.content_type),
        }
        try:
            response = self._session.post(
                self.base_url + SUBMIT_PATH, headers={API_KEY_HEADER: key}, files=files, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise _submit_transport_error(exc, key) from None
        envelope = self._checked_envelope("submit", response, key)
        task_id = _text(envelope.field("task_id"))
        if task_id is None:
            raise ProviderOutcomeUnknown(
                "MISSING_TASK_ID",
                "the provider answered 200 without a task_id",
                http_status=response.status_code,
                request_id=envelope.request_id,
            )
        if len(task_id) > MAX_TASK_ID_CHARS or not task_id.isprintable():
            raise ProviderOutcomeUnknown(
                "INVALID_TASK_ID",
                f"the provider answered 200 with an unusable task_id ({len(task_id)} characters: {task_id[:40]!r})",
                http_status=response.status_code,
                request_id=envelope.request_id,
            )
        logger.info("provider submit accepted: task_id=%s request_id=%s", task_id, envelope.request_id)
        return SubmitResult(task_id=task_id, request_id=envelope.request_id, log_id=envelope.log_id)

    def query(self, task_id: str) -> QueryResult:
        """One poll of the async task. Safe to repeat: every transport failure is transient."""
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValueError("task_id must be a non-empty string")
        key = self._resolve_key()
        try:
            response = self._session.get(
                self.base_url + QUERY_PATH,
                params={"task_id": task_id},
                headers={API_KEY_HEADER: key},
                timeout=self.timeout,
            )
        except _REQUEST_BUILD_ERRORS as exc:
            raise _invalid_request(exc, key) from None
        except requests.RequestException as exc:
            code = "TIMEOUT" if isinstance(exc, requests.Timeout) else "CONNECTION_ERROR"
            raise ProviderTransientError(code, _describe(exc, key)) from None
        envelope = self._checked_envelope("query", response, key)
        return _query_result(envelope, response.status_code)

    def _resolve_key(self) -> str:
        key = self._api_key() if callable(self._api_key) else self._api_key
        if not key or not str(key).strip():
            raise ProviderPermanentError(
                "MISSING_API_KEY", "no AILabTools API key configured", job_error_code="PROVIDER_AUTH_FAILED"
            )
        return str(key).strip()

    def _checked_envelope(self, operation: Operation, response: requests.Response, key: str) -> Envelope:
        status = response.status_code
        envelope = parse_envelope(response.content)
        if envelope is None:
            message = _scrub(f"response is not a JSON object: {response.text[:200]!r}", key)
            if status == 200 and operation == "submit":
                # A 200 means the provider probably accepted the photos; we just cannot read the task id.
                raise ProviderOutcomeUnknown("UNREADABLE_RESPONSE", message, http_status=status)
            if status in _AMBIGUOUS_GATEWAY_STATUSES and operation == "submit":
                raise ProviderOutcomeUnknown("GATEWAY_ERROR", message, http_status=status)
            raise ProviderTransientError("UNREADABLE_RESPONSE", message, http_status=status)
        if not envelope.has_error(status):
            return envelope
        effective_status = envelope.effective_status(status)
        provider_code = envelope.provider_code
        classification = classify(operation, effective_status, provider_code)
        error_class = ERROR_CLASS_BY_KIND[classification.kind]
        error = error_class(
            provider_code or f"HTTP_{effective_status}",
            _scrub(envelope.message or response.reason or "provider error", key),
            http_status=status,
            request_id=envelope.request_id,
            job_error_code=classification.job_error_code,
        )
        logger.warning("provider %s failed: %r", operation, error)
        raise error


def _query_result(envelope: Envelope, http_status: int) -> QueryResult:
    raw_status = envelope.field("task_status")
    if raw_status is None:
        raw_status = envelope.field("taskStatus")
    status = _as_int(raw_status)
    if raw_status is None:
        raise ProviderTransientError(
            "MISSING_TASK_STATUS",
            "query answered without task_status",
            http_status=http_status,
            request_id=envelope.request_id,
        )
    if status not in TASK_STATE_BY_STATUS:
        # The vendor SDK treats 3 as failed; any status outside the documented enum is a failed task for us.
        raise ProviderPermanentError(
            "INVALID_TASK_STATUS",
            f"task_status {raw_status!r} is not one of 0, 1, 2",
            http_status=http_status,
            request_id=envelope.request_id,
            job_error_code="PROVIDER_TASK_FAILED",
        )
    state = TASK_STATE_BY_STATUS[status]
    result_url = None
    if state == "succeeded":
        result_url = _first_text(envelope.field("image")) or _first_text(envelope.field("images"))
        if result_url is None:
            raise ProviderPermanentError(
                "MISSING_RESULT_URL",
                "task_status 2 without data.image",
                http_status=http_status,
                request_id=envelope.request_id,
                job_error_code="PROVIDER_TASK_FAILED",
            )
    return QueryResult(state=state, result_url=result_url, request_id=envelope.request_id)


def _submit_transport_error(exc: requests.RequestException, key: str) -> ProviderError:
    if isinstance(exc, _REQUEST_BUILD_ERRORS):
        return _invalid_request(exc, key)
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        # No connection means no request reached the provider: safe to retry.
        return ProviderTransientError("CONNECT_FAILED", _describe(exc, key))
    code = "READ_TIMEOUT" if isinstance(exc, requests.Timeout) else "CONNECTION_LOST"
    return ProviderOutcomeUnknown(code, _describe(exc, key))


def _never_connected(exc: BaseException) -> bool:
    return any(isinstance(cause, NewConnectionError | ConnectTimeoutError) for cause in _causes(exc))


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests puts urllib3's errors in args; urllib3 in `.reason`)."""
    if depth > 6:
        return
    yield exc
    nested = [arg for arg in exc.args if isinstance(arg, BaseException)]
    for attr in ("reason", "__cause__", "__context__"):
        value = getattr(exc, attr, None)
        if isinstance(value, BaseException):
            nested.append(value)
    for inner in nested:
        if inner is not exc:
            yield from _causes(inner, depth + 1)


def _invalid_request(exc: BaseException, key: str) -> ProviderPermanentError:
    return ProviderPermanentError("INVALID_REQUEST", _describe(exc, key), job_error_code="INTERNAL_ERROR")


def _describe(exc: BaseException, key: str) -> str:
    return _scrub(f"{type(exc).__name__}: {exc}", key)


def _scrub(text: str, key: str) -> str:
    if key:
        text = text.replace(key, "***")
    return text[:_MAX_MESSAGE_CHARS]


def _as_int(value: object) -> int | None:
    """2, "2", 2.0 and "2.0" are all 2; anything else (bools, fractions, words) is None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _first_text(value: object) -> str | None:
    """A string, or the first string of a list (some async APIs answer `images: [...]`)."""
    if isinstance(value, list):
        return next((text for text in map(_text, value) if text), None)
    return _text(value)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
