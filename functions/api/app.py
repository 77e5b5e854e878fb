"""HTTP API: create a swap job with upload forms, list, read, start and delete jobs, redeliver a webhook (/v1)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from faceswap.domain.errors import ApiError, TransientError
from faceswap.domain.identity import caller_owner
from faceswap.usecases.swaps import SwapService, check_idempotency_key, parse_create_request

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()

# Path patterns and the methods they allow: an unknown method on a known path is a 405, not a 404.
_ROUTES = [
    (re.compile(r"^/v1/swaps/?$"), ("GET", "POST")),
    (re.compile(r"^/v1/swaps/[^/]+/?$"), ("GET", "DELETE")),
    (re.compile(r"^/v1/swaps/[^/]+/start/?$"), ("POST",)),
    (re.compile(r"^/v1/swaps/[^/]+/webhook/redeliver/?$"), ("POST",)),
]
_service: SwapService | None = None


def service() -> SwapService:
    global _service  # created on first use and reused while the sandbox is warm
    if _service is None:
        _service = SwapService()
    return _service


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=headers or {})


def _raw_body() -> str | bytes | None:
    """The body as sent: bytes when base64-encoded (Powertools' decoded_body would raise on non-UTF-8 bytes)."""
    event = app.current_event
    if event.is_base64_encoded and event.body:
        return base64.b64decode(event.body)
    return event.body


def _owner() -> str:
    owner = caller_owner(app.current_event.raw_event)
    logger.append_keys(caller=owner)
    return owner


@app.post("/v1/swaps")
def create_swap() -> Response[str]:
    owner = _owner()
    headers = app.current_event.headers
    request = parse_create_request(_raw_body(), headers.get("content-type"))
    key = check_idempotency_key(headers.get("idempotency-key"))
    view, replayed = service().create(owner, request, key)
    logger.append_keys(job_id=view["job_id"])
    logger.info("job created", extra={"replayed": replayed})
    if not replayed:
        metrics.add_metric(name="JobsCreated", unit=MetricUnit.Count, value=1)
    extra = {"Location": view["links"]["self"]}
    if replayed:
        extra["Idempotent-Replayed"] = "true"
    return _json(201, view, extra)


@app.get("/v1/swaps")
def list_swaps() -> Response[str]:
    params = app.current_event.query_string_parameters or {}
    return _json(200, service().list(_owner(), dict(params)))


@app.get("/v1/swaps/<job_id>")
def get_swap(job_id: str) -> Response[str]:
    logger.append_keys(job_id=job_id)
    return _json(200, service().get(_owner(), job_id))


@app.post("/v1/swaps/<job_id>/start")
def start_swap(job_id: str) -> Response[str]:
    logger.append_keys(job_id=job_id)
    view = service().start(_owner(), job_id)
    logger.info("job start requested", extra={"status": view["status"]})
    return _json(202, view)


@app.post("/v1/swaps/<job_id>/webhook/redeliver")
def redeliver_webhook(job_id: str) -> Response[str]:
    logger.append_keys(job_id=job_id)
    view = service().redeliver_webhook(_owner(), job_id)
    logger.info("webhook redelivery requested")
    return _json(202, view)


@app.delete("/v1/swaps/<job_id>")
def delete_swap(job_id: str) -> Response[str]:
    logger.append_keys(job_id=job_id)
    view = service().delete(_owner(), job_id)
    logger.info("job deleted")
    return _json(200, view)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    path = app.current_event.path
    for pattern, methods in _ROUTES:
        if pattern.match(path):
            error = ApiError(
                "METHOD_NOT_ALLOWED",
                f"{app.current_event.http_method} is not allowed on {path}.",
                headers={"Allow": ", ".join(methods)},
            )
            return api_error(error)
    return api_error(ApiError("ROUTE_NOT_FOUND", "No such route."))


def api_error(error: ApiError) -> Response[str]:
    if error.status >= 500:
        logger.error("request failed", extra={"code": error.code})
    return _json(error.status, {"error": {"code": error.code, "message": error.message}}, error.headers)


def aws_busy(error: TransientError) -> Response[str]:
    # DynamoDB, S3 or Step Functions throttled us past boto3's own retries: the caller may simply try again.
    logger.warning("AWS throttled the request", extra={"reason": str(error)})
    return api_error(ApiError("THROTTLED", "The service is busy; retry shortly.", headers={"Retry-After": "1"}))


def unexpected_error(error: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return _json(500, {"error": {"code": "INTERNAL_ERROR", "message": "An internal error occurred."}})


# Registered by call, not as decorators, so the functions keep their types (Powertools' decorator is untyped).
app.exception_handler(ApiError)(api_error)
app.exception_handler(TransientError)(aws_busy)
app.exception_handler(Exception)(unexpected_error)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
