"""Property tests of the API's input parsing: whatever arrives, the outcome is a value or a stable ApiError, never
another exception (which the API would turn into a 500)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote_plus

import pytest
from faceswap.domain.errors import API_ERROR_STATUS, ApiError
from faceswap.domain.identity import caller_owner
from faceswap.usecases.intake import _INBOX_KEY, _UPLOAD_KEY, object_keys
from faceswap.usecases.swaps import (
    MAX_BODY_BYTES,
    CreateSwapRequest,
    check_idempotency_key,
    check_job_id,
    parse_create_request,
)
from hypothesis import given, settings
from hypothesis import strategies as st

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
PARSE_CODES = {"MALFORMED_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "VALIDATION_ERROR"}
FIELDS = ["target_content_type", "template_content_type", "client_reference"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
field_values = st.sampled_from(["image/jpeg", "image/png", "image/gif", "", "IMAGE/PNG", "image/jpeg; x=1"]) | (
    json_values
)
create_bodies = st.dictionaries(
    st.sampled_from([*FIELDS, "owner", "status", "__proto__"]) | st.text(max_size=8), field_values, max_size=4
)
content_types = (
    st.none()
    | st.sampled_from(
        [
            "application/json",
            "Application/JSON; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json-patch+json",
            "",
            ";",
        ]
    )
    | st.text(max_size=30)
)


def assert_stable_error(error: ApiError, codes: set[str]) -> None:
    assert error.code in codes and API_ERROR_STATUS[error.code] == error.status
    assert error.message and len(error.message) <= 600


@settings(max_examples=400, deadline=None)
@given(
    body=st.one_of(
        st.none(),
        st.text(max_size=300),
        st.binary(max_size=300),
        create_bodies.map(json.dumps),
        create_bodies.map(lambda b: json.dumps(b).encode()),
    ),
    content_type=content_types,
)
def test_parse_create_request_returns_a_request_or_a_stable_error(body: str | bytes | None, content_type: str | None):
    try:
        request = parse_create_request(body, content_type)
    except ApiError as error:
        assert_stable_error(error, PARSE_CODES)
        return
    assert isinstance(request, CreateSwapRequest)
    assert request.target_content_type in ("image/jpeg", "image/png")
    assert request.template_content_type in ("image/jpeg", "image/png")
    assert request.client_reference is None or 1 <= len(request.client_reference) <= 128


@settings(max_examples=200, deadline=None)
@given(body=create_bodies)
def test_a_parsed_body_keeps_exactly_what_was_sent(body: dict[str, Any]):
    try:
        request = parse_create_request(json.dumps(body), "application/json")
    except ApiError as error:
        assert_stable_error(error, PARSE_CODES)
        assert (
            set(body) - set(FIELDS)
            or any(not isinstance(body[name], str) for name in body if name in FIELDS)
            or error.code in ("UNSUPPORTED_MEDIA_TYPE", "VALIDATION_ERROR")
        )
        return
    assert set(body) <= set(FIELDS)  # unknown fields are never accepted
    for name, value in body.items():
        assert getattr(request, name) == value


@settings(max_examples=50, deadline=None)
@given(padding=st.integers(min_value=1, max_value=2000))
def test_bodies_over_the_limit_are_too_large_whatever_their_content(padding: int):
    body = b"\xff" * (MAX_BODY_BYTES + padding)
    with pytest.raises(ApiError) as error:
        parse_create_request(body, "application/json")
    assert error.value.code == "PAYLOAD_TOO_LARGE"


@settings(max_examples=500, deadline=None)
@given(job_id=st.text(max_size=64) | st.from_regex(JOB_ID, fullmatch=True) | st.uuids().map(lambda u: u.hex))
def test_check_job_id_accepts_exactly_the_pattern(job_id: str):
    try:
        assert check_job_id(job_id) == job_id
    except ApiError as error:
        assert_stable_error(error, {"INVALID_JOB_ID"})
        assert not JOB_ID.fullmatch(job_id)
        return
    assert JOB_ID.fullmatch(job_id)


def test_every_generated_job_id_is_valid():
    for _ in range(100):
        assert check_job_id(uuid.uuid4().hex)


@settings(max_examples=500, deadline=None)
@given(
    key=st.none()
    | st.text(max_size=300)
    | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255)
)
def test_check_idempotency_key_accepts_only_short_printable_ascii(key: str | None):
    try:
        checked = check_idempotency_key(key)
    except ApiError as error:
        assert_stable_error(error, {"INVALID_IDEMPOTENCY_KEY"})
        assert key is not None
        assert not key or len(key) > 255 or any(not 0x20 <= ord(ch) <= 0x7E for ch in key) or " " in key
        return
    assert checked == key
    assert key is None or (1 <= len(key) <= 255 and all(0x20 <= ord(ch) <= 0x7E for ch in key))


authorizers = (
    st.fixed_dictionaries(
        {},
        optional={
            "iam": st.fixed_dictionaries(
                {},
                optional={
                    "userArn": json_values
                    | st.sampled_from(
                        [
                            "arn:aws:iam::123456789012:user/alice",
                            "arn:aws:sts::123456789012:assumed-role/ci/session-1",
                            "arn:aws-cn:sts::123456789012:assumed-role/r/s/extra",
                        ]
                    )
                },
            )
            | json_values,
            "jwt": st.fixed_dictionaries(
                {},
                optional={
                    "claims": st.fixed_dictionaries({}, optional={"sub": json_values, "iss": json_values}) | json_values
                },
            )
            | json_values,
        },
    )
    | json_values
)
events = st.fixed_dictionaries(
    {}, optional={"requestContext": st.fixed_dictionaries({}, optional={"authorizer": authorizers}) | json_values}
)


@settings(max_examples=500, deadline=None)
@given(event=events)
def test_caller_owner_is_an_owner_string_or_unauthenticated(event: dict[str, Any]):
    try:
        owner = caller_owner(event)
    except ApiError as error:
        assert_stable_error(error, {"UNAUTHENTICATED"})
        return
    assert isinstance(owner, str) and owner.startswith(("iam:", "jwt:")) and len(owner) > 4


@settings(max_examples=50, deadline=None)
@given(session=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30))
def test_assumed_role_sessions_share_one_owner(session: str):
    def event(arn: str) -> dict[str, Any]:
        return {"requestContext": {"authorizer": {"iam": {"userArn": arn}}}}

    first = caller_owner(event(f"arn:aws:sts::123456789012:assumed-role/ci/{session}"))
    assert first == caller_owner(event("arn:aws:sts::123456789012:assumed-role/ci/another"))
    assert first == "iam:arn:aws:iam::123456789012:role/ci"


s3_keys = st.text(min_size=1, max_size=200) | st.builds(
    lambda prefix, name, role, ext: f"{prefix}/{name}/{role}.{ext}" if ext else f"{prefix}/{name}/{role}",
    st.sampled_from(["inbox", "uploads", "results", "Inbox"]),
    st.text(max_size=40),
    st.sampled_from(["target", "template", "TARGET", "other"]),
    st.sampled_from(["jpg", "JPEG", "png", "gif", ""]),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "s3": st.fixed_dictionaries(
            {},
            optional={
                "bucket": st.fixed_dictionaries({}, optional={"name": st.text(max_size=20) | st.none()}),
                "object": st.fixed_dictionaries({}, optional={"key": s3_keys.map(quote_plus) | st.none()}),
            },
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(records=st.lists(records, max_size=5))
def test_object_keys_decodes_every_complete_record(records: list[dict[str, Any]]):
    pairs = object_keys({"Records": records})
    assert all(isinstance(bucket, str) and isinstance(key, str) for bucket, key in pairs)
    assert len(pairs) <= len(records)


@settings(max_examples=500, deadline=None)
@given(key=s3_keys)
def test_keys_survive_the_s3_event_encoding_and_parse_consistently(key: str):
    ((bucket, decoded),) = object_keys(
        {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": quote_plus(key)}}}]}
    )
    assert (bucket, decoded) == ("b", key)
    upload = _UPLOAD_KEY.match(decoded)
    if upload:  # only uploads/<job id>/<role>: nothing else can be mistaken for an API upload
        assert decoded == f"uploads/{upload.group(1)}/{upload.group(2)}" and JOB_ID.fullmatch(upload.group(1))
    inbox = _INBOX_KEY.match(decoded)
    if inbox:
        assert decoded.startswith("inbox/") and inbox.group("role").lower() in ("target", "template")
        name, role, ext = inbox.group("name", "role", "ext")
        assert name and decoded == f"inbox/{name}/{role}.{ext}"
