"""AilabClient against mocked HTTP (`responses`): envelope parsing, classification, transport errors, key hygiene."""

from __future__ import annotations

import io
import pickle
import re
import socket

import pytest
import requests
import responses
from faceswap.domain.errors import JOB_ERROR_CODES, TransientError
from faceswap.provider import (
    Photo,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    QueryResult,
)
from faceswap.provider.ailabtools import PROVIDER_CODE_TABLE, QUERY_PATH, SUBMIT_PATH, AilabClient
from faceswap.provider.ailabtools.classification import HTTP_CLASS_TABLE, HTTP_STATUS_TABLE
from PIL import Image
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

BASE = "https://api.example.test"
KEY = "sk-secret-key-123456"
SUBMIT_URL = BASE + SUBMIT_PATH
QUERY_URL = BASE + QUERY_PATH


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, fmt)
    return buffer.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")


def _envelope(status: int = 200, code: str = "", message: str = "", **fields: object) -> dict:
    return {
        "request_id": "req-1",
        "log_id": "log-1",
        "error_code": 0 if status == 200 else status,
        "error_code_str": code,
        "error_msg": message,
        "error_detail": {"status_code": status, "code": code, "code_message": "", "message": message},
        **fields,
    }


@pytest.fixture
def client() -> AilabClient:
    return AilabClient(BASE, KEY, connect_timeout=0.5, read_timeout=0.5)


@pytest.fixture
def uploads() -> tuple[Photo, Photo]:
    return Photo.from_bytes("target", JPEG), Photo.from_bytes("template", PNG)


@responses.activate
def test_submit_sends_multipart_with_key_names_and_types(client, uploads):
    responses.post(SUBMIT_URL, json=_envelope(task_type="async", task_id="1714743372764.abc"))

    result = client.submit(*uploads)

    assert (result.task_id, result.request_id, result.log_id) == ("1714743372764.abc", "req-1", "log-1")
    request = responses.calls[0].request
    assert request.headers["ailabapi-api-key"] == KEY
    body = request.body
    assert re.search(rb'name="image_target"; filename="target.jpg"\r\nContent-Type: image/jpeg', body)
    assert re.search(rb'name="image_template"; filename="template.png"\r\nContent-Type: image/png', body)
    assert JPEG in body and PNG in body


@responses.activate
def test_submit_tolerates_minimal_envelope_and_task_id_inside_data(client, uploads):
    responses.post(SUBMIT_URL, json={"data": {"task_id": "t-9"}})
    result = client.submit(*uploads)
    assert result.task_id == "t-9"
    assert result.request_id is None


@responses.activate
def test_callable_key_is_resolved_on_every_call(uploads):
    keys = iter(["k1", "k2"])
    client = AilabClient(BASE, lambda: next(keys))
    responses.post(SUBMIT_URL, json=_envelope(task_id="t"))
    client.submit(*uploads)
    client.submit(*uploads)
    assert [call.request.headers["ailabapi-api-key"] for call in responses.calls] == ["k1", "k2"]


@pytest.mark.parametrize(
    ("body", "code"),
    [(_envelope(task_type="async"), "MISSING_TASK_ID"), (_envelope(task_id=""), "MISSING_TASK_ID")],
)
@responses.activate
def test_submit_200_without_task_id_is_outcome_unknown(client, uploads, body, code):
    responses.post(SUBMIT_URL, json=body)
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client.submit(*uploads)
    assert caught.value.code == code
    assert caught.value.job_error_code == "PROVIDER_OUTCOME_UNKNOWN"


@responses.activate
def test_submit_200_with_unreadable_body_is_outcome_unknown(client, uploads):
    responses.post(SUBMIT_URL, body='{"task_id": "12', status=200)
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client.submit(*uploads)
    assert caught.value.code == "UNREADABLE_RESPONSE"


@responses.activate
def test_non_json_error_page_is_transient_on_query(client):
    html = "<html><title>502 Bad Gateway</title></html>"
    responses.get(QUERY_URL, body=html, status=502, content_type="text/html")
    with pytest.raises(ProviderTransientError) as caught:
        client.query("t")
    assert caught.value.http_status == 502
    assert caught.value.job_error_code == "PROVIDER_UNAVAILABLE"


# (HTTP status, provider code) -> (exception class, job error code), for both operations unless noted.
CLASSIFICATION_CASES = [
    (422, "ERROR_NO_FACE_IN_FILE", ProviderPermanentError, "FACE_NOT_FOUND"),
    (404, "ERROR_FACE_NOT_FOUND", ProviderPermanentError, "FACE_NOT_FOUND"),
    (422, "ERROR_SMALL_FACE_SIZE", ProviderPermanentError, "FACE_TOO_SMALL"),
    (422, "ERROR_FACE_SIZE_RATIO_NOT_MET", ProviderPermanentError, "FACE_TOO_SMALL"),
    (422, "ERROR_FACE_COUNT_INVALID", ProviderPermanentError, "FACE_COUNT_INVALID"),
    (422, "FILE_CONTENT_NON_COMPLIANCE", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),
    (413, "FILE_SIZE_EXCEEDS_LIMIT", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),
    (413, "FILE_RESOLUTION_EXCEEDS_LIMITS", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),
    (415, "UNSUPPORTED_FILE_TYPES", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),
    (422, "FILE_DECODING_FAILURE", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),
    (400, "FILE_DECODING_FAILURE", ProviderPermanentError, "PROVIDER_REJECTED_IMAGE"),  # pre-2026 mapping
    (401, "ERROR_USER_NOT_EXISTS", ProviderPermanentError, "PROVIDER_AUTH_FAILED"),
    (401, "ERROR_APPLICATIONS_NOT_EXISTS", ProviderPermanentError, "PROVIDER_AUTH_FAILED"),
    (403, "ERROR_USER_LOCKED", ProviderPermanentError, "PROVIDER_AUTH_FAILED"),
    (401, "", ProviderPermanentError, "PROVIDER_AUTH_FAILED"),
    (429, "ERROR_NOT_ENOUGH_CREDITS", ProviderPermanentError, "PROVIDER_NO_CREDITS"),
    (429, "EXCEEDING_LIMITS", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (422, "EXCEEDING_LIMITS", ProviderTransientError, "PROVIDER_UNAVAILABLE"),  # pre-2026 mapping
    (429, "", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (500, "PROCESSING_FAILURE", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (400, "PROCESSING_FAILURE", ProviderTransientError, "PROVIDER_UNAVAILABLE"),  # pre-2026 mapping
    (502, "AI_SERVICE_ERROR", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (503, "AI_SERVICE_FLOW_RESTRICTION", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (504, "AI_SERVICE_TIMEOUT", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (500, "SOMETHING_NEW", ProviderTransientError, "PROVIDER_UNAVAILABLE"),
    (404, "ERROR_RESOURCE_NOT_FOUND", ProviderPermanentError, "PROVIDER_TASK_FAILED"),
]


@pytest.mark.parametrize(("status", "code", "error_class", "job_code"), CLASSIFICATION_CASES)
@pytest.mark.parametrize("operation", ["submit", "query"])
@responses.activate
def test_error_classification(client, uploads, operation, status, code, error_class, job_code):
    body = _envelope(status, code, "details from provider")
    responses.post(SUBMIT_URL, json=body, status=status)
    responses.get(QUERY_URL, json=body, status=status)
    with pytest.raises(error_class) as caught:
        client.submit(*uploads) if operation == "submit" else client.query("t-1")
    error = caught.value
    assert type(error) is error_class
    assert error.job_error_code == job_code
    assert error.code == (code or f"HTTP_{status}")
    assert error.http_status == status
    assert error.request_id == "req-1"
    assert error.message == "details from provider"


@pytest.mark.parametrize(
    ("operation", "job_code"), [("submit", "PROVIDER_REJECTED_IMAGE"), ("query", "PROVIDER_TASK_FAILED")]
)
@responses.activate
def test_unknown_4xx_code_depends_on_operation(client, uploads, operation, job_code):
    body = _envelope(400, "ERROR_PARAMETERS", "bad")
    responses.post(SUBMIT_URL, json=body, status=400)
    responses.get(QUERY_URL, json=body, status=400)
    with pytest.raises(ProviderPermanentError) as caught:
        client.submit(*uploads) if operation == "submit" else client.query("t-1")
    assert caught.value.job_error_code == job_code


@responses.activate
def test_http_200_with_nonzero_error_code_is_a_failure_classified_by_that_code(client):
    body = _envelope(200, "ERROR_NO_FACE_IN_FILE", "pic not has face", task_status=2)
    body["error_code"] = 422
    responses.get(QUERY_URL, json=body, status=200)
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == "FACE_NOT_FOUND"


@responses.activate
def test_legacy_error_code_str_is_used_when_error_detail_is_missing(client):
    responses.get(QUERY_URL, json={"error_code": 422, "error_code_str": "ERROR_FACE_COUNT_INVALID"}, status=422)
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == "FACE_COUNT_INVALID"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_envelope(task_status=0), QueryResult("queued", None, "req-1")),
        (_envelope(task_status=1), QueryResult("processing", None, "req-1")),
        (
            _envelope(task_status=2, data={"image": "https://x/r.jpg"}),
            QueryResult("succeeded", "https://x/r.jpg", "req-1"),
        ),
        # the docs' own query example: no request_id/log_id
        (
            {"error_code": 0, "error_msg": "", "task_status": 2, "data": {"image": "https://x/a.jpg"}},
            QueryResult("succeeded", "https://x/a.jpg", None),
        ),
        ({"task_status": "1"}, QueryResult("processing", None, None)),
        ({"error_code": "0", "data": {"task_status": 0}}, QueryResult("queued", None, None)),
    ],
)
@responses.activate
def test_query_states(client, body, expected):
    responses.get(QUERY_URL, json=body)
    assert client.query("1714743372764.abc") == expected
    assert responses.calls[0].request.url.endswith("?task_id=1714743372764.abc")
    assert responses.calls[0].request.headers["ailabapi-api-key"] == KEY


@pytest.mark.parametrize(
    ("body", "error_class", "code"),
    [
        (_envelope(task_status=3), ProviderPermanentError, "INVALID_TASK_STATUS"),
        (_envelope(task_status=-1), ProviderPermanentError, "INVALID_TASK_STATUS"),
        (_envelope(task_status="FAILED"), ProviderPermanentError, "INVALID_TASK_STATUS"),
        (_envelope(task_status=2), ProviderPermanentError, "MISSING_RESULT_URL"),
        (_envelope(task_status=2, data={"image": ""}), ProviderPermanentError, "MISSING_RESULT_URL"),
        (_envelope(), ProviderTransientError, "MISSING_TASK_STATUS"),
    ],
)
@responses.activate
def test_query_invalid_answers(client, body, error_class, code):
    responses.get(QUERY_URL, json=body)
    with pytest.raises(error_class) as caught:
        client.query("t-1")
    assert caught.value.code == code
    if error_class is ProviderPermanentError:
        assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"


@responses.activate
def test_query_200_unreadable_is_transient(client):
    responses.get(QUERY_URL, body="not json")
    with pytest.raises(ProviderTransientError):
        client.query("t-1")


def _refused() -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, SUBMIT_URL, NewConnectionError(None, "Connection refused")))


def _aborted() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


@pytest.mark.parametrize(
    ("exception", "submit_class", "submit_code"),
    [
        (requests.ConnectTimeout("connect timed out"), ProviderTransientError, "CONNECT_FAILED"),
        (_refused(), ProviderTransientError, "CONNECT_FAILED"),
        (requests.ReadTimeout("read timed out"), ProviderOutcomeUnknown, "READ_TIMEOUT"),
        (_aborted(), ProviderOutcomeUnknown, "CONNECTION_LOST"),
        (requests.exceptions.ChunkedEncodingError("broken"), ProviderOutcomeUnknown, "CONNECTION_LOST"),
    ],
)
@responses.activate
def test_transport_errors(client, uploads, exception, submit_class, submit_code):
    responses.post(SUBMIT_URL, body=exception)
    responses.get(QUERY_URL, body=exception)
    with pytest.raises(submit_class) as caught:
        client.submit(*uploads)
    assert type(caught.value) is submit_class
    assert caught.value.code == submit_code
    with pytest.raises(ProviderTransientError):  # a GET is always safe to repeat
        client.query("t-1")


def test_refused_connection_on_a_real_socket_is_transient(uploads):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AilabClient(f"http://127.0.0.1:{port}", KEY, connect_timeout=0.5, read_timeout=0.5)
    with pytest.raises(ProviderTransientError) as caught:
        client.submit(*uploads)
    assert caught.value.code == "CONNECT_FAILED"


@responses.activate
def test_api_key_never_leaks_into_errors_or_reprs(client, uploads):
    responses.post(SUBMIT_URL, json=_envelope(401, "ERROR_APPLICATIONS_NOT_EXISTS", f"unknown key {KEY}"), status=401)
    with pytest.raises(ProviderPermanentError) as caught:
        client.submit(*uploads)
    for text in (str(caught.value), repr(caught.value), caught.value.message, repr(client)):
        assert KEY not in text
    assert "***" in caught.value.message


def test_missing_api_key_is_a_permanent_auth_failure(uploads):
    client = AilabClient(BASE, lambda: "")
    with pytest.raises(ProviderPermanentError) as caught:
        client.submit(*uploads)
    assert (caught.value.code, caught.value.job_error_code) == ("MISSING_API_KEY", "PROVIDER_AUTH_FAILED")


def test_photo_from_bytes_sniffs_type_and_refuses_other_content():
    assert Photo.from_bytes("target", JPEG).filename == "target.jpg"
    assert Photo.from_bytes("template", PNG).content_type == "image/png"
    assert "content=" not in repr(Photo.from_bytes("target", JPEG))
    with pytest.raises(ValueError, match="not a JPEG or PNG"):
        Photo.from_bytes("target", b"GIF89a....")


def test_bad_arguments_fail_clearly(client):
    with pytest.raises(ValueError, match="base_url"):
        AilabClient("ftp://x", KEY)
    assert AilabClient(BASE, lambda: " k1 ")._resolve_key() == "k1"
    with pytest.raises(ValueError, match="task_id"):
        client.query("  ")


def test_errors_keep_their_fields_through_pickle_and_are_step_functions_names():
    error = ProviderPermanentError("ERROR_X", "m", http_status=422, request_id="r", job_error_code="FACE_NOT_FOUND")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(clone), clone.code, clone.http_status, clone.request_id, clone.job_error_code) == (
        ProviderPermanentError,
        "ERROR_X",
        422,
        "r",
        "FACE_NOT_FOUND",
    )
    assert issubclass(ProviderTransientError, TransientError)
    assert not issubclass(ProviderOutcomeUnknown, TransientError)
    assert all(issubclass(c, ProviderError) for c in (ProviderTransientError, ProviderOutcomeUnknown))
    assert ProviderOutcomeUnknown("X", "m").job_error_code == "PROVIDER_OUTCOME_UNKNOWN"


def test_every_mapped_job_error_code_exists_in_the_architecture():
    mapped = {c.job_error_code for c in PROVIDER_CODE_TABLE.values()}
    mapped |= {c.job_error_code for c in HTTP_STATUS_TABLE.values()}
    mapped |= {c.job_error_code for c in HTTP_CLASS_TABLE.values()}
    assert mapped <= JOB_ERROR_CODES


# -- Provider quirk classes: each is a kind of answer, not one instance -------------------------------------------


def _ok_with_code(code_field: str, code: str, **fields: object) -> dict:
    """HTTP 200, `error_code` 0, and an error code in one place only: the answer that used to look like an outage."""
    body = _envelope(200, "", "", **fields)
    if code_field == "error_detail.code":
        body["error_detail"]["code"] = code
    else:
        body["error_code_str"] = code
    return body


@pytest.mark.parametrize("code_field", ["error_detail.code", "error_code_str"])
@pytest.mark.parametrize(
    ("code", "job_code"),
    [
        ("ERROR_NO_FACE_IN_FILE", "FACE_NOT_FOUND"),
        ("ERROR_FACE_COUNT_INVALID", "FACE_COUNT_INVALID"),
        ("FILE_CONTENT_NON_COMPLIANCE", "PROVIDER_REJECTED_IMAGE"),
        (" error_small_face_size ", "FACE_TOO_SMALL"),  # case and padding are not a different code
    ],
)
@responses.activate
def test_query_200_with_error_code_0_and_a_face_code_fails_with_that_code(client, code_field, code, job_code):
    responses.get(QUERY_URL, json=_ok_with_code(code_field, code))
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == job_code
    assert caught.value.code == code.strip().upper()


@responses.activate
def test_submit_200_with_error_code_0_and_a_face_code_is_a_rejection_not_an_unknown_outcome(client, uploads):
    responses.post(SUBMIT_URL, json=_ok_with_code("error_detail.code", "ERROR_NO_FACE_IN_FILE"))
    with pytest.raises(ProviderPermanentError) as caught:
        client.submit(*uploads)
    assert type(caught.value) is ProviderPermanentError
    assert caught.value.job_error_code == "FACE_NOT_FOUND"


@responses.activate
def test_precise_code_wins_over_the_coarse_legacy_one_and_over_an_unknown_one(client):
    body = _envelope(422, "ERROR_SOMETHING_NEW", "x")
    body["error_code_str"] = "ERROR_FACE_COUNT_INVALID"
    responses.get(QUERY_URL, json=body, status=422)
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == "FACE_COUNT_INVALID"


@responses.activate
def test_an_error_code_wins_over_a_contradictory_success_payload(client):
    body = _ok_with_code("error_detail.code", "ERROR_NO_FACE_IN_FILE", task_status=2, data={"image": "https://x/r.jpg"})
    responses.get(QUERY_URL, json=body)
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == "FACE_NOT_FOUND"


@responses.activate
def test_error_detail_status_code_naming_an_error_is_a_failure(client):
    body = _envelope(200)
    body["error_detail"]["status_code"] = 422
    responses.get(QUERY_URL, json=body)
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"


@responses.activate
def test_unknown_code_on_a_200_without_payload_is_a_failure_that_keeps_the_code(client):
    responses.get(QUERY_URL, json=_ok_with_code("error_detail.code", "ERROR_BRAND_NEW"))
    with pytest.raises(ProviderPermanentError) as caught:
        client.query("t-1")
    assert caught.value.code == "ERROR_BRAND_NEW"
    assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error_code": 0.0, "task_status": 2.0, "data": {"image": "https://x/a.jpg"}}, "https://x/a.jpg"),
        ({"error_code": "0.0", "task_status": "2.0", "data": {"image": "https://x/a.jpg"}}, "https://x/a.jpg"),
        ({"error_code": 0, "task_status": 2, "data": '{"image": "https://x/b.jpg"}'}, "https://x/b.jpg"),
        ({"error_detail": '{"code": ""}', "task_status": 2, "data": {"image": "https://x/c.jpg"}}, "https://x/c.jpg"),
        ({"task_status": 2, "data": {"image": ["https://x/d.jpg"]}}, "https://x/d.jpg"),
        ({"task_status": 2, "data": {"images": ["https://x/e.jpg", "https://x/e.jpg"]}}, "https://x/e.jpg"),
    ],
)
@responses.activate
def test_query_tolerates_other_types_and_encodings_of_the_same_fields(client, body, expected):
    responses.get(QUERY_URL, json=body)
    assert client.query("t-1").result_url == expected


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        (1714743372764, "1714743372764"),
        ("  任务-1714743372764.fb8fd68b  ", "任务-1714743372764.fb8fd68b"),  # non-ASCII is a valid id
    ],
)
@responses.activate
def test_submit_task_id_types_and_encodings(client, uploads, task_id, expected):
    responses.post(SUBMIT_URL, json=_envelope(task_type="async", task_id=task_id))
    assert client.submit(*uploads).task_id == expected


@pytest.mark.parametrize("task_id", ["x" * 1025, "abc\ndef", "abc\x00def"])
@responses.activate
def test_submit_unusable_task_id_is_an_unknown_outcome(client, uploads, task_id):
    responses.post(SUBMIT_URL, json=_envelope(task_type="async", task_id=task_id))
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client.submit(*uploads)
    assert caught.value.code == "INVALID_TASK_ID"


@pytest.mark.parametrize("status", [502, 504])
@responses.activate
def test_submit_gateway_error_without_a_provider_envelope_is_an_unknown_outcome(client, uploads, status):
    # A proxy answers 502/504 when the upstream did not answer in time: the provider may have accepted (and charged).
    responses.post(SUBMIT_URL, body="<html>Bad Gateway</html>", status=status, content_type="text/html")
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        client.submit(*uploads)
    assert caught.value.code == "GATEWAY_ERROR"
    assert caught.value.http_status == status


@pytest.mark.parametrize("status", [500, 503])
@responses.activate
def test_submit_other_5xx_without_a_provider_envelope_is_transient(client, uploads, status):
    responses.post(SUBMIT_URL, body="<html>unavailable</html>", status=status, content_type="text/html")
    with pytest.raises(ProviderTransientError):
        client.submit(*uploads)


@responses.activate
def test_request_ids_of_any_type_and_length_are_bounded_text(client):
    responses.get(QUERY_URL, json={"request_id": "r" * 5000, "log_id": 42, "task_status": 1})
    result = client.query("t-1")
    assert result.request_id == "r" * 128
