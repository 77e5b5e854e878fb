"""The local HTTP API gateway: payload format 2.0 events, responses, limits and authentication."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from faceswap_local.gateway import MAX_BODY_BYTES, LocalGateway
from faceswap_local.local_auth import LocalAuth


class FakeFunction:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.response: Any = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


@pytest.fixture
def function() -> FakeFunction:
    return FakeFunction()


@pytest.fixture
def auth() -> LocalAuth:
    return LocalAuth()


@pytest.fixture
def gateway(function: FakeFunction, auth: LocalAuth) -> Iterator[LocalGateway]:
    local = LocalGateway(
        function,
        port=0,
        auth=auth,
        routes=["GET /v1/jobs/{job_id}", "POST /v1/jobs", "ANY /v1/files/{path+}"],
        extra_routes={"GET /local/events": lambda event: {"statusCode": 200, "body": json.dumps({"events": []})}},
    )
    local.start()
    yield local
    local.stop()


def _bearer(auth: LocalAuth, sub: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {auth.mint(sub)}"}


def test_request_becomes_a_payload_2_event(gateway: LocalGateway, function: FakeFunction, auth: LocalAuth) -> None:
    headers = {**_bearer(auth), "X-Custom": "v", "Cookie": "a=1; b=2", "User-Agent": "tests/1"}
    response = requests.get(f"{gateway.base_url}/v1/jobs/abc123?x=1&x=2&empty=", headers=headers, timeout=5)
    assert response.status_code == 200
    (event,) = function.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/jobs/{job_id}"
    assert event["rawPath"] == "/v1/jobs/abc123"
    assert event["rawQueryString"] == "x=1&x=2&empty="
    assert event["queryStringParameters"] == {"x": "1,2", "empty": ""}
    assert event["pathParameters"] == {"job_id": "abc123"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-custom"] == "v" and "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/v1/jobs/abc123",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1",
    }
    assert context["stage"] == "$default" and context["routeKey"] == event["routeKey"]
    assert context["accountId"] == auth.account_id and context["apiId"] and context["requestId"]
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith("+0000")
    assert context["authorizer"]["jwt"]["claims"]["sub"] == "alice"


def test_json_body_is_text_and_binary_body_is_base64(
    gateway: LocalGateway, function: FakeFunction, auth: LocalAuth
) -> None:
    requests.post(f"{gateway.base_url}/v1/jobs", json={"a": 1}, headers=_bearer(auth), timeout=5)
    binary = b"\x89PNG\r\n\x1a\n\x00\xff"
    requests.put(
        f"{gateway.base_url}/v1/files/a/b.png",
        data=binary,
        headers={**_bearer(auth), "Content-Type": "image/png"},
        timeout=5,
    )
    text_event, binary_event = function.events
    assert json.loads(text_event["body"]) == {"a": 1} and text_event["isBase64Encoded"] is False
    assert binary_event["isBase64Encoded"] is True and base64.b64decode(binary_event["body"]) == binary
    assert binary_event["pathParameters"] == {"path": "a/b.png"}


def test_response_object_becomes_the_http_response(
    gateway: LocalGateway, function: FakeFunction, auth: LocalAuth
) -> None:
    function.response = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "X-Job": "j1"},
        "cookies": ["s=1; Path=/", "t=2"],
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }
    response = requests.post(f"{gateway.base_url}/v1/jobs", json={}, headers=_bearer(auth), timeout=5)
    assert response.status_code == 201
    assert response.content == b"\x00\x01"
    assert response.headers["X-Job"] == "j1" and response.headers["Content-Type"] == "image/png"
    assert response.cookies.get("s") == "1" and response.cookies.get("t") == "2"
    function.response = {"plain": "object"}  # HTTP API turns a non-response object into a 200 JSON body
    plain = requests.post(f"{gateway.base_url}/v1/jobs", json={}, headers=_bearer(auth), timeout=5)
    assert plain.status_code == 200 and plain.json() == {"plain": "object"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {LocalAuth().mint('mallory')}"},
        {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/execute-api/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00"
        },
    ],
)
def test_requests_without_valid_credentials_get_401_and_never_reach_the_function(
    gateway: LocalGateway, function: FakeFunction, headers: dict[str, str]
) -> None:
    response = requests.post(f"{gateway.base_url}/v1/jobs", json={}, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert function.events == []


def test_sigv4_signed_request_is_accepted_and_a_tampered_one_refused(
    gateway: LocalGateway, function: FakeFunction, auth: LocalAuth
) -> None:
    key, secret = auth.add_iam_user("bob")
    url = f"{gateway.base_url}/v1/jobs?z=1"
    body = json.dumps({"target": "a"}).encode()
    signed = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(signed)
    ok = requests.post(url, data=body, headers=dict(signed.headers.items()), timeout=5)
    tampered = requests.post(url, data=body + b" ", headers=dict(signed.headers.items()), timeout=5)
    assert ok.status_code == 200
    assert tampered.status_code == 401
    (event,) = function.events
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == key


def test_unknown_route_method_and_paths_outside_the_api(
    gateway: LocalGateway, function: FakeFunction, auth: LocalAuth
) -> None:
    assert requests.delete(f"{gateway.base_url}/v1/jobs", headers=_bearer(auth), timeout=5).status_code == 404
    assert requests.get(f"{gateway.base_url}/elsewhere", timeout=5).status_code == 404
    assert function.events == []


def test_function_failure_is_a_500_from_the_gateway(
    gateway: LocalGateway, function: FakeFunction, auth: LocalAuth
) -> None:
    function.response = RuntimeError("handler crashed")
    response = requests.post(f"{gateway.base_url}/v1/jobs", json={}, headers=_bearer(auth), timeout=5)
    assert response.status_code == 500 and response.json() == {"message": "Internal Server Error"}


def test_body_over_10_mb_is_refused_with_413(gateway: LocalGateway, function: FakeFunction, auth: LocalAuth) -> None:
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=5)
    connection.putrequest("POST", "/v1/jobs")
    connection.putheader("Authorization", _bearer(auth)["Authorization"])
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()  # the gateway answers from the header, before any body arrives
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    connection.close()
    assert function.events == []


def test_extra_routes_are_served_by_the_gateway(gateway: LocalGateway, function: FakeFunction) -> None:
    response = requests.get(f"{gateway.base_url}/local/events", timeout=5)
    assert response.status_code == 200 and response.json() == {"events": []}
    assert function.events == []


def test_without_routes_every_api_request_is_the_default_route(function: FakeFunction, auth: LocalAuth) -> None:
    with LocalGateway(function, port=0, auth=auth) as local:
        requests.get(f"{local.base_url}/v1/anything/here", headers=_bearer(auth), timeout=5)
    (event,) = function.events
    assert event["routeKey"] == "$default" and "pathParameters" not in event


def test_the_most_specific_route_wins_over_a_catch_all(function: FakeFunction, auth: LocalAuth) -> None:
    routes = ["ANY /v1/{proxy+}", "GET /v1/jobs/{job_id}", "GET /v1/jobs/special"]
    with LocalGateway(function, port=0, auth=auth, routes=routes) as local:
        for path in ("/v1/jobs/abc", "/v1/jobs/special", "/v1/other/thing"):
            requests.get(f"{local.base_url}{path}", headers=_bearer(auth), timeout=5)
    assert [e["routeKey"] for e in function.events] == [
        "GET /v1/jobs/{job_id}",
        "GET /v1/jobs/special",
        "ANY /v1/{proxy+}",
    ]
    assert function.events[2]["pathParameters"] == {"proxy": "other/thing"}
