"""AWS-side faults for the local stack: a WSGI middleware around moto's server app.

It answers a seeded share of requests the way the real service answers under trouble, in the service's own wire
format, so boto3 parses, classifies and retries them exactly as it would against AWS:

=====================  ==================================================================================
fault                  what the client sees
=====================  ==================================================================================
``ddb_throttle``       DynamoDB (JSON 1.0): HTTP 400, ``x-amzn-ErrorType`` and ``__type``
                       ``ProvisionedThroughputExceededException``. Nothing is written.
``ddb_condition_race`` DynamoDB ``PutItem``/``UpdateItem``/``DeleteItem`` with a ``ConditionExpression``: the write
                       is applied (as if a concurrent step made the same write first), then the answer is
                       ``ConditionalCheckFailedException``: the loser's view of a race between duplicate steps.
``s3_slow_down``       S3 (REST-XML) GET/HEAD/PUT/POST: HTTP 503 ``<Code>SlowDown</Code>``. Nothing happens.
``s3_internal_error``  S3: HTTP 500 ``<Code>InternalError</Code>``. Nothing happens.
``events_failed_entry`` EventBridge ``PutEvents`` (JSON 1.1): HTTP 200 with ``FailedEntryCount`` = the number of
                       entries and an ``ErrorCode`` per entry. Nothing is delivered: a silent loss unless checked.
``secrets_throttle``   Secrets Manager (JSON 1.1): HTTP 400 ``ThrottlingException`` "Rate exceeded".
``sfn_throttle``       Step Functions ``StartExecution`` (JSON 1.0): HTTP 400 ``ThrottlingException``. Nothing starts.
=====================  ==================================================================================

Usage::

    server = ThreadedMotoServer(port=0); server.start()
    faults = install(server, AwsFaults(seed=7, rules=[AwsFaultRule("s3_slow_down", rate=0.2)]))

or wrap any moto WSGI app: ``AwsFaultMiddleware(app, faults)``, e.g. the local cloud's
(``LocalCloud(..., app_wrappers=[lambda app: AwsFaultMiddleware(app, faults)])``). Requests that carry no
recognisable AWS service (moto's own ``/moto-api``) are never faulted.
"""

from __future__ import annotations

import io
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

JSON_10 = "application/x-amz-json-1.0"
JSON_11 = "application/x-amz-json-1.1"

# fault -> (service, operations it applies to; None = every operation of the service)
FAULTS: dict[str, tuple[str, frozenset[str] | None]] = {
    "ddb_throttle": ("dynamodb", None),
    "ddb_condition_race": ("dynamodb", frozenset({"PutItem", "UpdateItem", "DeleteItem"})),
    "s3_slow_down": ("s3", None),
    "s3_internal_error": ("s3", None),
    "events_failed_entry": ("events", frozenset({"PutEvents"})),
    "secrets_throttle": ("secretsmanager", None),
    "sfn_throttle": ("stepfunctions", frozenset({"StartExecution"})),
}
NEEDS_CONDITION = frozenset({"ddb_condition_race"})
_TARGET_PREFIXES = {
    "DynamoDB_20120810": "dynamodb",
    "AWSEvents": "events",
    "secretsmanager": "secretsmanager",
    "AWSStepFunctions": "stepfunctions",
}


@dataclass
class AwsFaultRule:
    fault: str
    rate: float = 1.0  # share of matching requests that get the fault
    times: int | None = None  # at most this many injections (None = unlimited)
    operations: frozenset[str] | None = None  # narrow further, e.g. {"GetObject"} for S3 ("GetObject"/"PutObject")
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown AWS fault {self.fault!r}; use one of {sorted(FAULTS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")

    def matches(self, service: str, operation: str, conditional: bool = False) -> bool:
        fault_service, fault_operations = FAULTS[self.fault]
        if service != fault_service or (self.times is not None and self.fired >= self.times):
            return False
        if self.fault in NEEDS_CONDITION and not conditional:
            return False  # an unconditional write cannot lose a race
        if fault_operations is not None and operation not in fault_operations:
            return False
        return self.operations is None or operation in self.operations


class AwsFaults:
    """The rule table and its seeded RNG (thread-safe: the moto server answers on many threads)."""

    def __init__(self, seed: int = 0, rules: Iterable[AwsFaultRule] = ()) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.rules: list[AwsFaultRule] = list(rules)
        self.injected: Counter[str] = Counter()

    @classmethod
    def at_rate(cls, rate: float, seed: int = 0, faults: Iterable[str] = tuple(FAULTS)) -> AwsFaults:
        """Every fault at the same `rate` per matching request."""
        return cls(seed, [AwsFaultRule(fault, rate) for fault in faults])

    def add(self, fault: str, rate: float = 1.0, **options: Any) -> AwsFaultRule:
        rule = AwsFaultRule(fault, rate, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(self, service: str, operation: str, conditional: bool = False) -> str | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(service, operation, conditional) and self._rng.random() < rule.rate:
                    rule.fired += 1
                    self.injected[rule.fault] += 1
                    return rule.fault
        return None


def identify(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of a request to moto's server, or ("", "") when it is not an AWS API call."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.partition(".")
        return _TARGET_PREFIXES.get(prefix, prefix.lower()), operation
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    method = environ.get("REQUEST_METHOD", "GET")
    s3_operation = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "POST": "PostObject"}.get(method, "")
    if "Credential=" in authorization:
        parts = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        service = parts[3] if len(parts) >= 4 else ""
        return (service, s3_operation) if service == "s3" else (service, "")
    path = environ.get("PATH_INFO", "")
    if path and not path.startswith("/moto-api") and method in ("GET", "POST"):
        # A presigned URL or a browser's presigned POST form carries no Authorization header: S3 by elimination.
        return "s3", s3_operation
    return "", ""


class AwsFaultMiddleware:
    def __init__(self, app: WsgiApp, faults: AwsFaults) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service, operation = identify(environ)
        conditional = service == "dynamodb" and bool(_json(_request_body(environ)).get("ConditionExpression"))
        fault = self.faults.pick(service, operation, conditional) if service else None
        if fault is None:
            return self.app(environ, start_response)
        if fault == "ddb_condition_race":
            return self._race(environ, start_response)
        status, headers, body = _answer(fault, environ, _request_body(environ))
        start_response(status, headers)
        return [body]

    def _race(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _request_body(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            return lambda _data: None

        result = self.app(environ, capture)
        try:
            b"".join(result)  # the write happens: a concurrent twin of this step made it first
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        if not str(captured.get("status", "")).startswith("200"):
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)  # it failed on its own: answer that, not a race
        status, headers, answer = _json_error(
            JSON_10,
            "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "The conditional request failed",
        )
        start_response(status, headers)
        return [answer]


def install(server: Any, faults: AwsFaults) -> AwsFaultMiddleware:
    """Wrap the app of a started moto ``ThreadedMotoServer`` (its werkzeug server serves ``.app``)."""
    wsgi_server = getattr(server, "_server", None)
    if wsgi_server is None:
        raise RuntimeError("start the ThreadedMotoServer before installing faults")
    app = wsgi_server.app
    middleware = app if isinstance(app, AwsFaultMiddleware) else AwsFaultMiddleware(app, faults)
    middleware.faults = faults
    wsgi_server.app = middleware
    return middleware


# -- answers in each service's wire format ----------------------------------------------------------------------


def _answer(fault: str, environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    if fault == "ddb_throttle":
        return _json_error(
            JSON_10,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your "
            "provisioning level with the UpdateTable API.",
        )
    if fault == "secrets_throttle":
        return _json_error(JSON_11, "ThrottlingException", "Rate exceeded")
    if fault == "sfn_throttle":
        return _json_error(JSON_10, "ThrottlingException", "Rate exceeded")
    if fault == "events_failed_entry":
        entries = _json(body).get("Entries") or [{}]
        failed = [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."} for _ in entries]
        return _json_response("200 OK", JSON_11, {"FailedEntryCount": len(failed), "Entries": failed})
    if fault == "s3_slow_down":
        return _s3_error(environ, "503 Slow Down", "SlowDown", "Please reduce your request rate.")
    if fault == "s3_internal_error":
        return _s3_error(
            environ, "500 Internal Server Error", "InternalError", "We encountered an internal error. Please try again."
        )
    raise AssertionError(f"no answer for {fault}")


def _request_id() -> str:
    return uuid.uuid4().hex.upper()[:16]


def _json_response(status: str, content_type: str, payload: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps(payload).encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    return status, headers, body


def _json_error(content_type: str, error_type: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    status, headers, body = _json_response("400 Bad Request", content_type, {"__type": error_type, "message": message})
    headers.append(("x-amzn-ErrorType", f"{error_type.rpartition('#')[2]}:"))
    return status, headers, body


def _s3_error(
    environ: dict[str, Any], status: str, code: str, message: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = _request_id()
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", uuid.uuid4().hex)]
    if environ.get("REQUEST_METHOD") == "HEAD":  # a HEAD answer has no body: the status alone tells
        return status, [*headers, ("Content-Length", "0")], b""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>{request_id}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()
    return status, [*headers, ("Content-Type", "application/xml"), ("Content-Length", str(len(body)))], body


def _request_body(environ: dict[str, Any]) -> bytes:
    """Read the body once and put it back, so the app behind can still read it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
