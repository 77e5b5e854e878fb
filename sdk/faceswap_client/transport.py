"""HTTP plumbing: one requests session per destination, retries of idempotent requests only, API errors as typed
exceptions, and network failures as one plain sentence."""

from __future__ import annotations

import email.utils
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from faceswap_client.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unauthenticated,
    ValidationFailed,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
STATUS_CLASSES: dict[int, type[ApiError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
}


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent requests are retried on 429, 5xx and network failures.

    Waits grow from `backoff` seconds, doubling up to `max_backoff`, with jitter; a Retry-After header is honoured
    exactly. A Retry-After longer than `max_retry_after` is not waited for: the error is raised at once (`RateLimited`
    carries it). `max_retries=0` turns retries off.
    """

    max_retries: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def error_from_response(response: requests.Response) -> ApiError:
    """The typed error for an API error answer: `{"error": {"code", "message"}}`, API Gateway's own
    `{"message": ...}`, or any other body."""
    code: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "") or None
        message = str(body["error"].get("message") or "")
    elif isinstance(body, dict) and "message" in body:
        message = str(body["message"])
    else:
        message = f"{response.reason or ''} {response.text[:200]}".strip()
    return api_error(response.status_code, code, message, parse_retry_after(response.headers.get("Retry-After")))


def api_error(status: int, code: str | None, message: str, retry_after: float | None = None) -> ApiError:
    """The `ApiError` subclass for an HTTP error status."""
    if status == 429:
        return RateLimited(status, code, message, retry_after)
    if status >= 500:
        return ServerError(status, code, message)
    return STATUS_CLASSES.get(status, InvalidRequest)(status, code, message)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (requests and urllib3 nest the socket error several levels deep)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attribute in ("reason", "__cause__", "__context__"):
            inner = getattr(current, attribute, None)
            if isinstance(inner, BaseException):
                pending.append(inner)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def plain_reason(error: requests.RequestException) -> str:
    """What went wrong, in words a user understands, without the library internals."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its TLS certificate could not be verified"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused (is the server running?)"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "the connection was closed unexpectedly"
    if isinstance(error, requests.Timeout):
        return "it did not answer in time"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed"
    return "the request could not be sent"


def network_error(what: str, url: str, error: requests.RequestException, timeout: float) -> NetworkError:
    """One sentence: what was being done, where, and why it failed."""
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
    reason = plain_reason(error)
    if reason == "it did not answer in time":
        reason = f"it did not answer within {timeout:g} s"
    return NetworkError(f"cannot connect to {what} at {where}: {reason}")


def new_session(auth: AuthBase | None, user_agent: str) -> requests.Session:
    session = requests.Session()
    session.auth = auth
    session.headers["User-Agent"] = user_agent
    return session


class Transport:
    """Sends requests to one base URL with `auth`, retrying only those that are safe to repeat.

    A request is idempotent when its method is (GET, PUT, DELETE, ...), when a POST carries an Idempotency-Key, or
    when the caller says so for a POST the API defines as repeatable (`idempotent=True`).
    """

    def __init__(
        self,
        base_url: str,
        auth: AuthBase | None,
        *,
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
        what: str = "the API",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.what = what
        self.session = new_session(auth, user_agent)

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        raise_errors: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send `method url` (a path is joined to the base URL). An answer >= 400 raises its typed `ApiError`, or
        with `raise_errors=False` is returned once retries are spent (for S3, whose errors are XML)."""
        method = method.upper()
        if not url.startswith(("http://", "https://")):
            url = self.base_url + url
        headers = dict(headers or {})
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                failure = network_error(self.what, url, exc, self.timeout)
                delay = self.retry.delay(attempt, None) if idempotent else None
                if delay is None:
                    raise failure from None
            else:
                if response.status_code < 400:
                    return response
                retryable = idempotent and response.status_code in RETRYABLE_STATUSES
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(attempt, retry_after) if retryable else None
                if delay is None:
                    if raise_errors:
                        raise error_from_response(response)
                    return response
                response.close()
            self.retry.sleep(delay)
            attempt += 1
