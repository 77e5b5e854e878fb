"""Hostile and broken input through the live API path: the corpus of bad images uploaded with the presigned
forms, and bad HTTP bodies, paths, methods, content types and credentials sent to the gateway.

Every bad image must fail its job with the corpus's documented code, start no execution, spend no credit, leave no
object behind for its role and emit exactly one `FaceSwap Failed`. Every bad request must get its documented status
and code and create no job.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from faceswap_local.local_auth import LocalAuth

from tests.corpus.bad_inputs import BadImage, GoodImage, bad_images, good_odd_images
from tests.e2e.conftest import E2E, Caller, assert_valid_event, upload

BAD_IMAGES = bad_images()
GOOD_ODD_IMAGES = good_odd_images()
UPLOAD_WORKERS = 8
TERMINAL = ("FaceSwap Succeeded", "FaceSwap Failed")


# ---------------------------------------------------------------------------------------------------- helpers


@dataclass
class CorpusRun:
    job_ids: dict[str, str]  # corpus name -> job id
    events: dict[str, list[dict[str, Any]]]  # job id -> its terminal events
    accepted_before: int
    accepted_after: int
    executions: set[str]


def execution_names(e2e: E2E) -> set[str]:
    sfn = e2e.stack.cloud.client("stepfunctions")
    arn = e2e.stack.cloud.resources["FaceSwapStateMachine"]
    names: set[str] = set()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        names.update(execution["name"] for execution in page["executions"])
    return names


def object_exists(e2e: E2E, key: str) -> bool:
    try:
        e2e.stack.cloud.client("s3").head_object(Bucket=e2e.stack.bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def job_ids_in_table(e2e: E2E) -> set[str]:
    dynamodb = e2e.stack.cloud.client("dynamodb")
    ids: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=e2e.stack.table, ProjectionExpression="job_id"):
        ids.update(item["job_id"]["S"] for item in page["Items"])
    return ids


def terminal_events(e2e: E2E, job_id: str) -> list[dict[str, Any]]:
    return [event for event in e2e.events_for(job_id) if event["detail-type"] in TERMINAL]


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


# ---------------------------------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def corpus_caller(e2e: E2E) -> Caller:
    return Caller(e2e.stack.api_url, e2e.stack.auth.mint("corpus-uploader"))


@pytest.fixture(scope="module")
def corpus_run(e2e: E2E, corpus_caller: Caller) -> CorpusRun:
    """Every bad image uploaded as the target of its own job (with a good template), all at once, then every
    terminal event awaited."""
    template = e2e.photos["grace_hopper"]
    accepted_before = e2e.accepted()

    def submit(bad: BadImage) -> tuple[str, str]:
        created = corpus_caller.create(target_content_type=bad.content_type_claimed, template_content_type="image/jpeg")
        assert upload(created["uploads"]["template"], template, "template.jpg").status_code == 204
        # The local S3 does not enforce the POST policy (size range, content type): the server-side re-check must.
        assert upload(created["uploads"]["target"], bad.data, f"{bad.name}.img").status_code == 204
        return bad.name, created["job_id"]

    with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
        job_ids = dict(pool.map(submit, BAD_IMAGES))
    for job_id in job_ids.values():
        e2e.terminal_event(job_id, timeout=90)
    time.sleep(0.5)  # a duplicate terminal event would arrive right after the first one
    events = {job_id: terminal_events(e2e, job_id) for job_id in job_ids.values()}
    return CorpusRun(job_ids, events, accepted_before, e2e.accepted(), execution_names(e2e))


def test_the_corpus_is_large_and_names_are_unique():
    assert len(BAD_IMAGES) >= 40
    assert len({bad.name for bad in BAD_IMAGES}) == len(BAD_IMAGES)


@pytest.mark.parametrize("bad", BAD_IMAGES, ids=[bad.name for bad in BAD_IMAGES])
def test_bad_image_fails_its_job_with_the_documented_code(
    e2e: E2E, corpus_run: CorpusRun, corpus_caller: Caller, bad: BadImage
):
    job_id = corpus_run.job_ids[bad.name]
    events = corpus_run.events[job_id]
    assert len(events) == 1, [event["detail-type"] for event in events]
    event = events[0]
    assert event["detail-type"] == "FaceSwap Failed"
    assert event["detail"]["error"]["code"] == bad.expected_code, event["detail"]["error"]
    assert_valid_event(event)
    record = e2e.stack.job_record(job_id)
    assert record["status"] == "failed" and record["error"]["code"] == bad.expected_code
    assert "target" not in record.get("uploads", {})  # never recorded as a usable upload
    assert record.get("provider_task_id") is None and not record.get("submit_in_flight")
    assert job_id not in corpus_run.executions  # the workflow never started
    assert not object_exists(e2e, f"uploads/{job_id}/target")  # the rejected object is gone
    job = corpus_caller.request("GET", f"/v1/swaps/{job_id}").json()
    assert job["status"] == "failed" and job["error"]["code"] == bad.expected_code and job["result"] is None
    # A failed job cannot be restarted by the caller.
    restart = corpus_caller.request("POST", f"/v1/swaps/{job_id}/start")
    assert restart.status_code == 409 and restart.json()["error"]["code"] == "JOB_NOT_STARTABLE"


def test_the_corpus_spent_no_credit_and_started_nothing(corpus_run: CorpusRun):
    assert corpus_run.accepted_after == corpus_run.accepted_before
    assert not set(corpus_run.job_ids.values()) & corpus_run.executions
    assert sum(len(events) for events in corpus_run.events.values()) == len(BAD_IMAGES)


def test_oversized_upload_is_caught_server_side(e2e: E2E, corpus_run: CorpusRun):
    """The local S3 accepted 5 MiB + 1 byte although the form's policy forbids it; the upload trigger refused it."""
    oversized = next(bad for bad in BAD_IMAGES if bad.name == "five_mib_plus_one_byte")
    assert len(oversized.data) == 5 * 1024 * 1024 + 1
    job_id = corpus_run.job_ids[oversized.name]
    assert corpus_run.events[job_id][0]["detail"]["error"]["code"] == "IMAGE_TOO_LARGE"
    assert not object_exists(e2e, f"uploads/{job_id}/target")


# ------------------------------------------------------------------------------------- odd but valid images


@pytest.fixture(scope="module")
def odd_uploads(e2e: E2E, corpus_caller: Caller) -> dict[str, str]:
    """Each unusual-but-valid image uploaded as a target alone: the server-side check must record it."""

    def submit(good: GoodImage) -> tuple[str, str]:
        created = corpus_caller.create(target_content_type=good.content_type)
        assert upload(created["uploads"]["target"], good.data, good.name).status_code == 204
        return good.name, created["job_id"]

    with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
        return dict(pool.map(submit, GOOD_ODD_IMAGES))


@pytest.mark.parametrize("good", GOOD_ODD_IMAGES, ids=[good.name for good in GOOD_ODD_IMAGES])
def test_odd_but_valid_image_is_accepted_server_side(
    e2e: E2E, odd_uploads: dict[str, str], corpus_caller: Caller, good: GoodImage
):
    job_id = odd_uploads[good.name]
    assert wait_until(lambda: "target" in (e2e.stack.job_record(job_id) or {}).get("uploads", {}), timeout=30)
    record = e2e.stack.job_record(job_id)
    assert record["status"] == "awaiting_upload"
    assert record["uploads"]["target"]["content_type"] == good.content_type
    assert (record["uploads"]["target"]["width"], record["uploads"]["target"]["height"]) == (good.width, good.height)
    assert object_exists(e2e, f"uploads/{job_id}/target")
    assert terminal_events(e2e, job_id) == []
    deleted = corpus_caller.request("DELETE", f"/v1/swaps/{job_id}")
    assert deleted.status_code == 200 and not object_exists(e2e, f"uploads/{job_id}/target")


# ------------------------------------------------------------------------------------------- bad API requests


@pytest.fixture(scope="module")
def mallory(e2e: E2E) -> Caller:
    return Caller(e2e.stack.api_url, e2e.stack.auth.mint("mallory"))


@pytest.fixture
def no_new_jobs(e2e: E2E) -> Iterator[None]:
    """The jobs table holds exactly the same jobs before and after the test."""
    before = job_ids_in_table(e2e)
    yield
    assert job_ids_in_table(e2e) == before


def raw_request(
    api_url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, Any]]:
    """Send the path byte for byte (requests/urllib3 would normalise `..` segments and re-encode characters)."""
    parts = urlsplit(api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, json.loads(data) if data else {}


def assert_api_error(status: int, body: dict[str, Any], expected_status: int, expected_code: str) -> None:
    assert status == expected_status, body
    assert body["error"]["code"] == expected_code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


BAD_BODIES = [
    # (id, content type, body, status, code)
    ("invalid_json", "application/json", b"{not json", 400, "MALFORMED_JSON"),
    ("truncated_json", "application/json", b'{"client_reference": "a', 400, "MALFORMED_JSON"),
    ("json_array", "application/json", b"[1, 2, 3]", 400, "MALFORMED_JSON"),
    ("json_string", "application/json", b'"image/png"', 400, "MALFORMED_JSON"),
    ("json_null", "application/json", b"null", 400, "MALFORMED_JSON"),
    ("json_number", "application/json", b"42", 400, "MALFORMED_JSON"),
    ("deeply_nested", "application/json", b"[" * 8000 + b"]" * 8000, 400, "MALFORMED_JSON"),
    ("nan_literal", "application/json", b'{"client_reference": NaN}', 422, "VALIDATION_ERROR"),
    ("not_utf8", "application/json", b'{"client_reference": "\xff\xfe"}', 400, "MALFORMED_JSON"),
    ("wrong_type_int", "application/json", b'{"target_content_type": 5}', 422, "VALIDATION_ERROR"),
    ("wrong_type_list", "application/json", b'{"template_content_type": ["image/png"]}', 422, "VALIDATION_ERROR"),
    ("wrong_type_bool", "application/json", b'{"client_reference": true}', 422, "VALIDATION_ERROR"),
    ("wrong_type_object", "application/json", b'{"client_reference": {"$ne": null}}', 422, "VALIDATION_ERROR"),
    ("empty_reference", "application/json", b'{"client_reference": ""}', 422, "VALIDATION_ERROR"),
    (
        "reference_too_long",
        "application/json",
        json.dumps({"client_reference": "r" * 129}).encode(),
        422,
        "VALIDATION_ERROR",
    ),
    ("unknown_field", "application/json", b'{"owner": "alice"}', 422, "VALIDATION_ERROR"),
    ("prototype_pollution", "application/json", b'{"__proto__": {"admin": true}}', 422, "VALIDATION_ERROR"),
    ("status_injection", "application/json", b'{"status": "succeeded", "job_id": "0" }', 422, "VALIDATION_ERROR"),
    ("gif_content_type", "application/json", b'{"target_content_type": "image/gif"}', 415, "UNSUPPORTED_MEDIA_TYPE"),
    (
        "svg_content_type",
        "application/json",
        b'{"template_content_type": "image/svg+xml"}',
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    (
        "body_over_16_kib",
        "application/json",
        json.dumps({"client_reference": "x" * (16 * 1024)}).encode(),
        413,
        "PAYLOAD_TOO_LARGE",
    ),
    ("text_plain", "text/plain", b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (
        "form_urlencoded",
        "application/x-www-form-urlencoded",
        b"target_content_type=image%2Fpng",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    ("multipart", "multipart/form-data; boundary=x", b"--x\r\n\r\n{}\r\n--x--\r\n", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("xml", "application/xml", b"<swap><target>image/png</target></swap>", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("binary", "application/octet-stream", bytes(range(256)) * 4, 415, "UNSUPPORTED_MEDIA_TYPE"),
]


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES]
)
def test_bad_create_body_gets_its_documented_code(
    mallory: Caller, no_new_jobs: None, content_type: str, body: bytes, status: int, code: str
):
    response = mallory.request("POST", "/v1/swaps", data=body, headers={"Content-Type": content_type})
    assert_api_error(response.status_code, response.json(), status, code)


def test_body_over_the_gateway_limit_is_refused_by_the_gateway(e2e: E2E, mallory: Caller, no_new_jobs: None):
    """Over HTTP API's 10 MB payload limit the gateway answers itself, without reading the body or calling the API."""
    parts = urlsplit(e2e.stack.api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/v1/swaps")
        connection.putheader("Authorization", f"Bearer {mallory.token}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read())
    finally:
        connection.close()
    assert status == 413 and body == {"message": "Request Entity Too Large"}


@pytest.mark.parametrize(
    "reference",
    [
        "Robert'); DROP TABLE jobs;--",
        "' OR '1'='1",
        '" OR ""="',
        "1; SELECT * FROM jobs WHERE owner <> ''",
        "${jndi:ldap://127.0.0.1/a}",
        "{{7*7}} <script>alert(1)</script>",
        "../../../../etc/passwd",
        "顔の入れ替え 🧑‍🚀➡️👩‍💻",
        "\u202eRTL override\u202c",
        "zero\u200bwidth\ufeffbom",
        "tab\tnew\nline\rcr",
        "nul\u0000byte",
        "emoji " + "🙂" * 60,
    ],
)
def test_hostile_but_valid_reference_is_stored_verbatim(e2e: E2E, mallory: Caller, reference: str):
    """Injection-looking and exotic Unicode strings are just data: one job, echoed back unchanged."""
    before = job_ids_in_table(e2e)
    response = mallory.request("POST", "/v1/swaps", json={"client_reference": reference})
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    assert job_ids_in_table(e2e) - before == {job_id}
    job = mallory.request("GET", f"/v1/swaps/{job_id}").json()
    assert job["client_reference"] == reference and job["status"] == "awaiting_upload"
    assert mallory.request("DELETE", f"/v1/swaps/{job_id}").status_code == 200


def test_lone_surrogate_reference_is_a_validation_error(mallory: Caller, no_new_jobs: None):
    """JSON may escape a lone UTF-16 surrogate; it is not text, and DynamoDB and events cannot store it."""
    response = mallory.request(
        "POST", "/v1/swaps", data=rb'{"client_reference": "\ud800x"}', headers={"Content-Type": "application/json"}
    )
    assert_api_error(response.status_code, response.json(), 422, "VALIDATION_ERROR")


BAD_JOB_IDS = [
    ("dot_dot_encoded", "..%2F..%2Fetc%2Fpasswd"),
    ("dot_dot_backslash", "..%5C..%5Cwindows"),
    ("uppercase_hex", "0F4D5A3C9B2E4F60A1B2C3D4E5F60718"),
    ("too_short", "0f4d5a3c9b2e4f60a1b2c3d4e5f6071"),
    ("too_long", "0f4d5a3c9b2e4f60a1b2c3d4e5f607180"),
    ("uuid_with_dashes", "0f4d5a3c-9b2e-4f60-a1b2-c3d4e5f60718"),
    ("non_hex", "0f4d5a3c9b2e4f60a1b2c3d4e5f6071g"),
    ("sql", "%27%20OR%20%271%27%3D%271"),
    ("nosql", "%7B%22%24ne%22%3Anull%7D"),
    ("fullwidth_digits", "%EF%BC%90" * 32),
    ("nul_byte", "0f4d5a3c9b2e4f60a1b2c3d4e5f6071%00"),
    ("newline", "0f4d5a3c9b2e4f60a1b2c3d4e5f6071%0A"),
    ("wildcard", "%2A"),
    ("very_long", "a" * 4000),
]


@pytest.mark.parametrize("job_id", [case[1] for case in BAD_JOB_IDS], ids=[case[0] for case in BAD_JOB_IDS])
def test_malformed_job_id_is_refused(e2e: E2E, mallory: Caller, no_new_jobs: None, job_id: str):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/start")):
        status, body = raw_request(
            e2e.stack.api_url, method, f"/v1/swaps/{job_id}{suffix}", {"Authorization": f"Bearer {mallory.token}"}
        )
        assert_api_error(status, body, 400, "INVALID_JOB_ID")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/swaps/../../etc/passwd",
        "/v1/swaps/a/b/c",
        "/v1/swaps/0f4d5a3c9b2e4f60a1b2c3d4e5f60718/start/again",
        "/v1/swaps/0f4d5a3c9b2e4f60a1b2c3d4e5f60718/result",
        "/v1/jobs",
    ],
)
def test_unknown_api_path_is_route_not_found(e2e: E2E, mallory: Caller, no_new_jobs: None, path: str):
    status, body = raw_request(e2e.stack.api_url, "GET", path, {"Authorization": f"Bearer {mallory.token}"})
    assert_api_error(status, body, 404, "ROUTE_NOT_FOUND")


@pytest.mark.parametrize("path", ["/../etc/passwd", "/v2/swaps", "/v1/", "/"])
def test_path_without_a_route_is_the_gateways_404(e2e: E2E, mallory: Caller, path: str):
    """No route matches (`ANY /v1/{proxy+}` needs a segment): the gateway answers itself, like API Gateway."""
    status, body = raw_request(e2e.stack.api_url, "GET", path, {"Authorization": f"Bearer {mallory.token}"})
    assert status == 404 and body == {"message": "Not Found"}


def test_unknown_job_is_not_found(mallory: Caller, no_new_jobs: None):
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/start")):
        response = mallory.request(method, f"/v1/swaps/{'0' * 32}{path}")
        assert_api_error(response.status_code, response.json(), 404, "JOB_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/swaps", "GET, POST"),
        ("PATCH", "/v1/swaps", "GET, POST"),
        ("DELETE", "/v1/swaps", "GET, POST"),
        ("GET", f"/v1/swaps/{'a' * 32}/webhook/redeliver", "POST"),
        ("DELETE", f"/v1/swaps/{'a' * 32}/webhook/redeliver", "POST"),
        ("POST", f"/v1/swaps/{'a' * 32}", "GET, DELETE"),
        ("PUT", f"/v1/swaps/{'a' * 32}", "GET, DELETE"),
        ("PATCH", f"/v1/swaps/{'a' * 32}", "GET, DELETE"),
        ("GET", f"/v1/swaps/{'a' * 32}/start", "POST"),
        ("DELETE", f"/v1/swaps/{'a' * 32}/start", "POST"),
        ("PUT", f"/v1/swaps/{'a' * 32}/start", "POST"),
    ],
)
def test_wrong_method_is_method_not_allowed(mallory: Caller, no_new_jobs: None, method: str, path: str, allowed: str):
    response = mallory.request(method, path, data=b"{}", headers={"Content-Type": "application/json"})
    assert_api_error(response.status_code, response.json(), 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == allowed


def _forged_token() -> str:
    return LocalAuth().mint("alice")  # signed with another run's key


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, "
        "Signature=00",
        "forged",
        "expired",
        "alg_none",
    ],
)
def test_missing_or_invalid_credentials_get_401(e2e: E2E, no_new_jobs: None, authorization: str | None):
    headers = {"Content-Type": "application/json"}
    if authorization == "forged":
        authorization = f"Bearer {_forged_token()}"
    elif authorization == "expired":
        authorization = f"Bearer {e2e.stack.auth.mint('alice', ttl=-60)}"
    elif authorization == "alg_none":
        header, claims, _ = e2e.stack.auth.mint("alice").split(".")
        authorization = f"Bearer {header}.{claims}."
    if authorization is not None:
        headers["Authorization"] = authorization
    for method, path in (
        ("POST", "/v1/swaps"),
        ("GET", f"/v1/swaps/{'b' * 32}"),
        ("DELETE", f"/v1/swaps/{'b' * 32}"),
        ("POST", f"/v1/swaps/{'b' * 32}/start"),
        ("PUT", "/v1/swaps"),
    ):
        status, body = raw_request(e2e.stack.api_url, method, path, headers, b"{}")
        assert status == 401 and body == {"message": "Unauthorized"}, (method, path)


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9", "tab\tkey"])
def test_bad_idempotency_key_is_refused(mallory: Caller, no_new_jobs: None, key: str):
    response = mallory.request("POST", "/v1/swaps", json={}, headers={"Idempotency-Key": key.encode("latin-1")})
    assert_api_error(response.status_code, response.json(), 400, "INVALID_IDEMPOTENCY_KEY")


def test_sql_like_idempotency_key_is_just_a_key(e2e: E2E, mallory: Caller):
    headers = {"Idempotency-Key": "x';DROP/**/TABLE/**/jobs;--"}
    first = mallory.request("POST", "/v1/swaps", json={}, headers=dict(headers))
    second = mallory.request("POST", "/v1/swaps", json={}, headers=dict(headers))
    assert first.status_code == second.status_code == 201
    assert first.json()["job_id"] == second.json()["job_id"]
    other = mallory.request("POST", "/v1/swaps", json={"client_reference": "other"}, headers=dict(headers))
    assert_api_error(other.status_code, other.json(), 422, "IDEMPOTENCY_KEY_REUSED")
