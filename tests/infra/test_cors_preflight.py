"""Browsers can call the API when `CorsAllowedOrigins` is set: checked on the translated template with API Gateway
HTTP API route selection (developer guide, "Routes for HTTP APIs" and "CORS for HTTP APIs").

API Gateway answers a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) by itself only
when no route matches it. A route that matches OPTIONS (an `ANY` route, an `OPTIONS` route, or `$default`) receives
the preflight instead: when that route requires authorization the preflight, which never carries credentials, is
refused, and otherwise it reaches the function, which serves no OPTIONS. Every browser call then fails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

ANY = "x-amazon-apigateway-any-method"
OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
JOB_ID = "0123456789abcdef0123456789abcdef"
# What a browser calls: the documented routes, and unknown paths (answered with our JSON 404/405 by the catch-all).
BROWSER_REQUESTS = [
    ("POST", "/v1/swaps"),
    ("GET", f"/v1/swaps/{JOB_ID}"),
    ("DELETE", f"/v1/swaps/{JOB_ID}"),
    ("POST", f"/v1/swaps/{JOB_ID}/start"),
    ("GET", "/v1/swaps"),
    ("GET", "/v1/unknown/path"),
    ("PUT", f"/v1/swaps/{JOB_ID}"),
]
# Headers the SDK and the playground send: SigV4 (IAM) or a bearer token (JWT), JSON bodies, idempotency.
REQUEST_HEADERS = {"authorization", "content-type", "idempotency-key", "x-amz-date", "x-amz-security-token",
                   "x-amz-content-sha256"}  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str  # "GET", ..., "ANY"; "$default" for the default route
    path: str
    authorized: bool

    @property
    def key(self) -> str:
        return "$default" if self.method == "$default" else f"{self.method} {self.path}"


def routes_of(body: dict[str, Any]) -> list[Route]:
    routes = []
    for path, item in body["paths"].items():
        for method, operation in item.items():
            if method != ANY and method not in OPENAPI_METHODS:
                continue
            authorized = bool(operation.get("security") or body.get("security"))
            if path == "$default":
                routes.append(Route("$default", path, authorized))
            else:
                routes.append(Route("ANY" if method == ANY else method.upper(), path, authorized))
    return routes


def _path_pattern(template: str) -> tuple[re.Pattern[str], int]:
    """The path as a regex and its rank: 0 exact, 1 with {variables}, 2 with a greedy {name+}."""
    rank = 0
    parts = []
    for segment in template.strip("/").split("/"):
        if re.fullmatch(r"\{\w+\+\}", segment):
            parts.append(".+")  # one or more segments
            rank = 2
        elif re.fullmatch(r"\{\w+\}", segment):
            parts.append("[^/]+")
            rank = max(rank, 1)
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$"), rank


def select_route(routes: list[Route], method: str, path: str) -> Route | None:
    """API Gateway's choice: the most specific path (exact, then variables, then greedy), a route for the method
    before `ANY` on the same path, and `$default` when nothing else matches; None when no route matches."""
    candidates = []
    for route in routes:
        if route.method == "$default":
            continue
        pattern, rank = _path_pattern(route.path)
        if pattern.match(path) and route.method in (method, "ANY"):
            literal_length = len(re.sub(r"\{[^}]+\}", "", route.path))
            candidates.append(((rank, -literal_length, route.method == "ANY"), route))
    if candidates:
        return min(candidates, key=lambda item: item[0])[1]
    return next((route for route in routes if route.method == "$default"), None)


@pytest.fixture
def http_api(cfn) -> dict[str, Any]:
    return cfn["Resources"]["HttpApi"]["Properties"]["Body"]


def cors_when_configured(http_api: dict[str, Any]) -> dict[str, Any]:
    condition, when_set, _otherwise = http_api["x-amazon-apigateway-cors"]["Fn::If"]
    assert condition == "HasCors"
    return when_set


def test_the_matcher_follows_api_gateway(http_api):
    """The rules above on a small route table, including the ANY catch-all that broke preflights."""
    routes = [
        Route("GET", "/v1/swaps/{job_id}", True),
        Route("ANY", "/v1/{proxy+}", True),
        Route("POST", "/v1/swaps", True),
    ]
    assert select_route(routes, "GET", f"/v1/swaps/{JOB_ID}").key == "GET /v1/swaps/{job_id}"
    assert select_route(routes, "OPTIONS", "/v1/swaps").key == "ANY /v1/{proxy+}"
    assert select_route(routes, "GET", "/v2/other") is None
    assert select_route([*routes, Route("$default", "$default", False)], "GET", "/v2/other").key == "$default"
    assert select_route(routes, "OPTIONS", "/v1") is None  # a greedy variable needs at least one segment


def test_no_route_takes_a_browser_preflight_so_api_gateway_answers_it(http_api):
    routes = routes_of(http_api)
    assert routes, "no routes in the HTTP API"
    for _method, path in BROWSER_REQUESTS:
        route = select_route(routes, "OPTIONS", path)
        # Even an unauthorized route would hand the preflight to the function, which has no OPTIONS route.
        assert route is None, (
            f"OPTIONS {path} goes to the route {route.key}: API Gateway would not answer the preflight itself"
            + (", and the route refuses it for want of credentials" if route.authorized else "")
        )


def test_every_browser_call_still_reaches_an_authorized_route(http_api):
    routes = routes_of(http_api)
    for method, path in BROWSER_REQUESTS:
        route = select_route(routes, method, path)
        assert route is not None, f"{method} {path} matches no route: API Gateway's bare 404, not our JSON error"
        assert route.authorized, f"{method} {path} reaches {route.key} without authorization"


def test_the_cors_configuration_allows_what_browsers_send(http_api):
    cors = cors_when_configured(http_api)
    assert cors["allowOrigins"] == {"Ref": "CorsAllowedOrigins"}
    methods = {method for method, _path in BROWSER_REQUESTS[:4]}
    assert methods <= {method.upper() for method in cors["allowMethods"]}
    assert {header.lower() for header in cors["allowHeaders"]} >= REQUEST_HEADERS
