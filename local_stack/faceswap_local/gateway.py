"""The local HTTP API: what API Gateway (HTTP API, payload format 2.0) does in front of the API function.

Routes come from the template (the function's HttpApi events). A request matching one is authenticated (JWT bearer
token or SigV4, see ``local_auth``), turned into a payload 2.0 event and handed to ``invoke``; the function's response
object becomes the HTTP response. CORS follows the API's ``x-amazon-apigateway-cors``: API Gateway answers a preflight
itself only when no route matches its OPTIONS request, and adds the CORS headers to responses for allowed origins.
``local_routes`` (e.g. ``GET /local/events``) are served by the stack itself, authenticated like the API. The
playground folder, when given, is served at ``/`` with its configuration at ``/local/playground-config.json``
(loopback callers only).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import mimetypes
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .local_auth import AuthError, LocalAuth

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
API_PREFIX = "/v1/"
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|.*\+(json|xml))", re.I)


class Route:
    """``"METHOD /path/{param}/{proxy+}"`` (METHOD may be ANY); matching gives the path parameters."""

    def __init__(self, key: str) -> None:
        method, _, path = key.partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"route key {key!r} must look like 'GET /path'")
        self.key = key
        self.method = method.upper()
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{") and part.endswith("+}"):
                pattern += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(part)
        self._regex = re.compile(pattern + "$")
        # API Gateway prefers the most specific route: no greedy variable, fewer variables, a named method.
        self.specificity = ("+}" in path, path.count("{"), self.method == "ANY", -len(path))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method.upper()):
            return None
        found = self._regex.match(path)
        return found.groupdict() if found else None


def _find_route(routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str]]:
    for route in routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    return None, {}


class LocalGateway:
    def __init__(
        self,
        invoke: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        auth: LocalAuth,
        local_routes: Mapping[str, Handler] | None = None,
        routes: list[str] | None = None,
        api_id: str = "localapi",
        cors: Mapping[str, Any] | None = None,
        unauthorized_hint: str = "",
        playground_dir: Path | None = None,
        playground_token: Callable[[], str] | None = None,
    ) -> None:
        self.invoke = invoke
        self.host = host
        self.port = port
        self.auth = auth
        self.api_id = api_id
        # API routes (e.g. LocalCloud.deployment.http_routes["ApiFunction"]); none means everything is "$default".
        self.routes = sorted((Route(r) for r in routes or []), key=lambda route: route.specificity)
        self.local_routes = [(Route(k), handler) for k, handler in (local_routes or {}).items()]
        self.cors = dict(cors or {})
        self.unauthorized_hint = unauthorized_hint
        self.playground_dir = playground_dir
        self.playground_token = playground_token
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        gateway = self

        class _RequestHandler(_GatewayRequestHandler):
            owner = gateway

        from faceswap_local.aws.endpoint import bind

        self._server = bind(
            self.host, self.port, "local HTTP API", lambda: ThreadingHTTPServer((self.host, self.port), _RequestHandler)
        )
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="local-gateway", daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalGateway:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # request handling (called from the server threads) --------------------------------------------------------
    def handle(self, request: RawRequest) -> dict[str, Any]:
        response = self._route(request)
        origin = request.headers_dict().get("origin")
        if origin and self._origin_allowed(origin) and not response.get("_preflight"):
            headers = {k: v for k, v in (response.get("headers") or {}).items() if not k.lower().startswith("access-")}
            headers.update(self._cors_headers(origin, preflight=False))
            response = {**response, "headers": headers}
        response.pop("_preflight", None)
        return response

    def _route(self, request: RawRequest) -> dict[str, Any]:
        if len(request.body) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        local, local_parameters = _find_route([r for r, _ in self.local_routes], request.method, request.path)
        if local is None and request.path == "/local/playground-config.json" and request.method in ("GET", "HEAD"):
            return self._playground_config(request)
        route, parameters = _find_route(self.routes, request.method, request.path) if local is None else (None, {})
        if local is None and route is None:
            if request.method == "OPTIONS" and self.cors and request.path.startswith(API_PREFIX):
                return self._preflight(request)
            if request.method in ("GET", "HEAD") and not request.path.startswith((API_PREFIX, "/local/")):
                return self._static(request.path)
            if self.routes or not request.path.startswith(API_PREFIX):
                return _message(404, "Not Found")
        try:
            authorizer = self.auth.authorize(request.method, request.url, request.headers_dict(), request.body)
        except AuthError:
            message = "Unauthorized" + (f": {self.unauthorized_hint}" if self.unauthorized_hint else "")
            return _message(401, message)
        if local is not None:
            handler = dict((r.key, h) for r, h in self.local_routes)[local.key]
            return handler(self.build_event(request, local.key, local_parameters, authorizer))
        event = self.build_event(request, route.key if route else "$default", parameters, authorizer)
        try:
            return self.invoke(event)
        except Exception:
            return _message(500, "Internal Server Error")

    # CORS -------------------------------------------------------------------------------------------------------
    def _origin_allowed(self, origin: str) -> bool:
        allowed = [str(o) for o in self.cors.get("allowOrigins", [])]
        return bool(self.cors) and ("*" in allowed or origin in allowed)

    def _cors_headers(self, origin: str, *, preflight: bool) -> dict[str, str]:
        allowed = [str(o) for o in self.cors.get("allowOrigins", [])]
        headers = {"access-control-allow-origin": "*" if "*" in allowed else origin}
        if not allowed or "*" not in allowed:
            headers["vary"] = "origin"
        if self.cors.get("allowCredentials"):
            headers["access-control-allow-credentials"] = "true"
        if preflight:
            headers["access-control-allow-methods"] = ",".join(self.cors.get("allowMethods", ["*"]))
            headers["access-control-allow-headers"] = ",".join(self.cors.get("allowHeaders", []))
            if "maxAge" in self.cors:
                headers["access-control-max-age"] = str(self.cors["maxAge"])
        elif self.cors.get("exposeHeaders"):
            headers["access-control-expose-headers"] = ",".join(self.cors["exposeHeaders"])
        return headers

    def _preflight(self, request: RawRequest) -> dict[str, Any]:
        """API Gateway's own answer to a preflight no route claims: 204, CORS headers only for allowed origins."""
        headers_in = request.headers_dict()
        origin = headers_in.get("origin", "")
        headers: dict[str, str] = {}
        if origin and headers_in.get("access-control-request-method") and self._origin_allowed(origin):
            headers = self._cors_headers(origin, preflight=True)
        return {"statusCode": 204, "headers": headers, "_preflight": True}

    # playground -------------------------------------------------------------------------------------------------
    def _static(self, path: str) -> dict[str, Any]:
        if self.playground_dir is None or not self.playground_dir.is_dir():
            return _message(404, "Not Found")
        root = self.playground_dir.resolve()
        target = (root / (path.lstrip("/") or "index.html")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return _message(404, "Not Found")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".js":
            content_type = "text/javascript"
        return {
            "statusCode": 200,
            "headers": {"content-type": content_type, "cache-control": "no-store"},
            "body": base64.b64encode(target.read_bytes()).decode(),
            "isBase64Encoded": True,
        }

    def _playground_config(self, request: RawRequest) -> dict[str, Any]:
        if self.playground_token is None:
            return _message(404, "Not Found")
        if not ipaddress.ip_address(request.source_ip).is_loopback:
            return _message(403, "Forbidden")
        body = {"apiUrl": self.base_url, "token": self.playground_token()}
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}

    def build_event(
        self, request: RawRequest, route_key: str, path_parameters: dict[str, str], authorizer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """An API Gateway HTTP API payload format 2.0 event."""
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            lowered = name.lower()
            if lowered == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
                continue
            headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
        now = datetime.now(UTC)
        host = headers.get("host", f"{self.host}:{self.port}").split(":")[0]
        context: dict[str, Any] = {
            "accountId": self.auth.account_id,
            "apiId": self.api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=") + "=",
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if authorizer is not None:
            context["authorizer"] = authorizer
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if request.query:
            parameters: dict[str, str] = {}
            for key, value in parse_qsl(request.query, keep_blank_values=True):
                parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
            event["queryStringParameters"] = parameters
        if path_parameters:
            event["pathParameters"] = path_parameters
        if request.body:
            if _is_text(headers.get("content-type", ""), request.body):
                event["body"] = request.body.decode("utf-8")
            else:
                event["body"] = base64.b64encode(request.body).decode()
                event["isBase64Encoded"] = True
        return event


def _is_text(content_type: str, body: bytes) -> bool:
    if not _TEXT_TYPES.match(content_type.strip()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _message(status: int, message: str) -> dict[str, Any]:
    """API Gateway's own responses: ``{"message": ...}``."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": message}),
    }


class RawRequest:
    def __init__(
        self, method: str, target: str, protocol: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path or "/"
        self.query = parts.query
        self.protocol = protocol
        self.headers = headers
        self.body = body
        self.source_ip = source_ip
        host = self.headers_dict().get("host", "localhost")
        self.url = f"http://{host}{target}"

    def headers_dict(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers}


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    owner: LocalGateway
    protocol_version = "HTTP/1.1"
    server_version = "faceswap-local-gateway"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the function logs are what matters locally

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._write(_message(413, "Request Entity Too Large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        request = RawRequest(
            self.command, self.path, self.request_version, list(self.headers.items()), body, self.client_address[0]
        )
        response = self.owner.handle(request)
        self._write(response)

    def _write(self, response: Any) -> None:
        status, headers, body, cookies = _http_response(response)
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # Every method reaches the route table (and the API answers 405), as with API Gateway, not http.server's 501.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = do_QUERY = _serve


def _http_response(response: Any) -> tuple[int, dict[str, str], bytes, list[str]]:
    """Payload 2.0 response -> (status, headers, body, cookies); without statusCode it is a 200 JSON body."""
    if not isinstance(response, dict) or "statusCode" not in response:
        return 200, {"content-type": "application/json"}, json.dumps(response).encode(), []
    try:
        status = int(response["statusCode"])
    except (TypeError, ValueError):
        return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}', []
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ",".join(str(v) for v in values)
    raw_body = response.get("body")
    if raw_body is None:
        body = b""
    elif response.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode()
    return status, headers, body, [str(c) for c in response.get("cookies") or []]
