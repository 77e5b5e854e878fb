"""Each Lambda handler, called as Lambda calls it, with the sample events from events/."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from faceswap.adapters.job_table import JobStore

from tests.conftest import REPO, load_event
from tests.unit.conftest import BUCKET, image_bytes


@dataclass
class Context:
    function_name: str = "test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


_loaded: dict[str, ModuleType] = {}


def handler(name: str) -> ModuleType:
    """The function's app.py, imported once (like a warm sandbox) but with its cached clients reset per test."""
    if name not in _loaded:
        spec = importlib.util.spec_from_file_location(f"handler_{name}", REPO / "functions" / name / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _loaded[name] = module
    module = _loaded[name]
    if hasattr(module, "_service"):
        module._service = None
    return module


def call_api(event: dict) -> tuple[int, dict, dict]:
    response = handler("api").lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"] or "null"), response.get("headers", {})


def api_event(name: str, **changes) -> dict:
    event = copy.deepcopy(load_event(name))
    event.update(changes)
    return event


def with_path(event: dict, path: str, method: str | None = None) -> dict:
    event = copy.deepcopy(event)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if method:
        event["requestContext"]["http"]["method"] = method
    return event


def test_api_create_then_get_with_the_sample_events(fake_aws):
    status, body, headers = call_api(api_event("api_create_swap.json"))
    assert status == 201 and body["status"] == "awaiting_upload" and headers["Location"].endswith(body["job_id"])
    assert body["client_reference"] == "order-4711"
    get_event = with_path(load_event("api_get_swap.json"), f"/v1/swaps/{body['job_id']}")
    get_event["pathParameters"] = {"job_id": body["job_id"]}
    status, job, _ = call_api(get_event)
    assert status == 200 and job["job_id"] == body["job_id"]


def test_api_replay_with_the_same_idempotency_key(fake_aws):
    first = call_api(api_event("api_create_swap.json"))
    second = call_api(api_event("api_create_swap.json"))
    assert first[1]["job_id"] == second[1]["job_id"] and second[2].get("Idempotent-Replayed") == "true"


def test_api_without_identity_is_401(fake_aws):
    event = api_event("api_create_swap.json")
    event["requestContext"].pop("authorizer")
    status, body, _ = call_api(event)
    assert status == 401 and body["error"]["code"] == "UNAUTHENTICATED"


def test_api_jwt_caller_cannot_see_an_iam_callers_job(fake_aws):
    _, created, _ = call_api(api_event("api_create_swap.json"))
    event = with_path(load_event("api_create_swap_jwt.json"), f"/v1/swaps/{created['job_id']}", "GET")
    event["routeKey"] = "GET /v1/swaps/{job_id}"
    event["body"] = None
    status, body, _ = call_api(event)
    assert status == 404 and body["error"]["code"] == "JOB_NOT_FOUND"


@pytest.mark.parametrize(
    ("path", "method", "status", "code"),
    [
        ("/v1/swaps/../../etc/passwd", "GET", 404, "ROUTE_NOT_FOUND"),
        ("/v1/swaps/..%2F..%2Fetc%2Fpasswd", "GET", 400, "INVALID_JOB_ID"),
        ("/v1/swaps/' OR 1=1 --", "GET", 400, "INVALID_JOB_ID"),
        ("/v1/swaps/\u00e9\u00e9\u00e9", "GET", 400, "INVALID_JOB_ID"),
        ("/v1/swaps", "PUT", 405, "METHOD_NOT_ALLOWED"),
        ("/v1/swaps/0f4d5a3c9b2e4f60a1b2c3d4e5f60718/webhook/redeliver", "GET", 405, "METHOD_NOT_ALLOWED"),
        ("/v1/swaps/0f4d5a3c9b2e4f60a1b2c3d4e5f60718", "PUT", 405, "METHOD_NOT_ALLOWED"),
        ("/v1/nothing", "GET", 404, "ROUTE_NOT_FOUND"),
        ("/v1/swaps/0f4d5a3c9b2e4f60a1b2c3d4e5f60718", "GET", 404, "JOB_NOT_FOUND"),
    ],
)
def test_api_bad_paths_and_methods(fake_aws, path, method, status, code):
    event = with_path(load_event("api_get_swap.json"), path, method)
    got_status, body, _ = call_api(event)
    assert (got_status, body["error"]["code"]) == (status, code)


def test_upload_trigger_with_the_sample_event_starts_the_job(fake_aws):
    event = load_event("s3_upload_object_created.json")
    key = event["Records"][0]["s3"]["object"]["key"]
    job_id = key.split("/")[1]
    store = JobStore()
    from faceswap.adapters.job_table import new_job

    inputs = {role: {"bucket": BUCKET, "key": f"uploads/{job_id}/{role}"} for role in ("target", "template")}
    store.create(new_job(job_id=job_id, owner="iam:x", origin="api", status="awaiting_upload", inputs=inputs))
    for role in ("target", "template"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/{role}", Body=image_bytes())
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    handler("upload_trigger").lambda_handler(event, Context())
    other = copy.deepcopy(event)
    other["Records"][0]["s3"]["object"]["key"] = key.rsplit("/", 1)[0] + "/template"
    result = handler("upload_trigger").lambda_handler(other, Context())
    assert result["outcomes"][0]["action"] == "started"
    assert [e["name"] for e in fake_aws.executions()] == [job_id]


def test_request_listener_with_the_sample_event(fake_aws):
    event = load_event("eventbridge_faceswap_requested.json")
    result = handler("request_listener").lambda_handler(event, Context())
    assert result["action"] in {"started", "rejected"} and result["job_id"]
    assert JobStore().get(result["job_id"]).origin == "eventbridge"


def test_workflow_handlers_refuse_an_event_without_a_job_id(fake_aws):
    from faceswap.domain.errors import JobFailure

    for name in ("validate", "submit", "query", "archive", "record_failure"):
        with pytest.raises(JobFailure):
            handler(name).lambda_handler({"job_id": "../x"}, Context())


def test_sample_workflow_events_name_a_valid_job(fake_aws):
    for path in sorted(Path(REPO / "events").glob("sfn_*.json")):
        assert json.loads(path.read_text())["job_id"] == "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"


def test_api_answers_429_with_retry_after_when_aws_throttles_it(fake_aws, monkeypatch):
    from faceswap.domain.errors import StorageTransientError
    from faceswap.usecases.swaps import SwapService

    def throttled(*_args, **_kwargs):
        raise StorageTransientError("DynamoDB put_item: ProvisionedThroughputExceededException")

    monkeypatch.setattr(SwapService, "create", throttled)
    status, body, headers = call_api(api_event("api_create_swap.json"))
    assert (status, body["error"]["code"], headers["Retry-After"]) == (429, "THROTTLED", "1")


def test_api_limits_answer_429_with_retry_after(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_CALLER", "1")
    event = api_event("api_create_swap.json")
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "idempotency-key"}
    assert call_api(event)[0] == 201
    status, body, headers = call_api(event)
    assert (status, body["error"]["code"], headers["Retry-After"]) == (429, "TOO_MANY_ACTIVE_JOBS", "30")


def test_webhook_function_with_the_sample_event_skips_a_job_without_webhook(fake_aws, monkeypatch):
    """The sample SQS record names a job this table does not hold: acknowledged, nothing sent, nothing kept."""
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/none")
    response = handler("webhook").lambda_handler(load_event("sqs_webhook_delivery.json"), Context())
    assert response == {"batchItemFailures": []}
