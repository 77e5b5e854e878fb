"""An AILabTools-compatible HTTP server on 127.0.0.1: submit, query, result files, fault injection, stats."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from werkzeug.formparser import parse_form_data

from .catalog import error_envelope, success_envelope
from .config import EmulatorConfig
from .faults import HTTP_FAULTS, TASK_FAULTS, TRANSPORT_FAULTS, FaultRule, FaultTable
from .images import check_image
from .swapper import Swapper, engine_swapper
from .tasks import TaskFailure, TaskStore, failure_from_fault

logger = logging.getLogger(__name__)

SUBMIT_PATH = "/api/portrait/editing/ai-face-swap"
QUERY_PATH = "/api/common/query-async-task-result"
RESULTS_PREFIX = "/results/"
ADMIN_PREFIX = "/__emulator/"
API_KEY_HEADER = "ailabapi-api-key"
IMAGE_FIELDS = ("image_target", "image_template")

# fault -> (HTTP status, provider code) for the faults that answer with a provider error.
_HTTP_FAULT_ANSWERS: dict[str, tuple[int, str]] = {
    "http_429": (429, "EXCEEDING_LIMITS"),
    "no_credits": (429, "ERROR_NOT_ENOUGH_CREDITS"),
    "http_500": (500, "SERVICE_INTERNAL_ERROR"),
    "http_502": (502, "AI_SERVICE_ERROR"),
    "http_503": (503, "AI_SERVICE_FLOW_RESTRICTION"),
}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_MALFORMED_JSON = b'{"request_id": "5e1c", "error_code": 0, "task_'
_NOT_IMAGE = b"<!DOCTYPE html><html><body><h1>Welcome</h1><p>This is not an image.</p></body></html>"
_NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>\n"
)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in a timeout fault must not block stop()
    emulator: EmulatorServer


class EmulatorServer:
    def __init__(self, config: EmulatorConfig | None = None, swapper: Swapper | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.faults = FaultTable(seed=self.config.seed)
        self.tasks = TaskStore(self.config, swapper or engine_swapper)
        self._stopping = threading.Event()
        self._counter_lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._accepted_submissions = 0
        self._results_served = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        httpd = _HTTPServer((self.config.host, self.config.port), _Handler)
        httpd.emulator = self
        host, port = httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.tasks.result_base_url = (self.config.public_base_url or self.base_url).rstrip("/")
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="ailab-emulator", daemon=True
        )
        self._thread.start()
        logger.info("AILabTools emulator listening on %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.tasks.shutdown()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        with self._counter_lock:
            requests = dict(self._requests)
            accepted = self._accepted_submissions
            served = self._results_served
        records = self.tasks.records()
        return {
            "requests": requests,
            "faults_injected": self.faults.injected(),
            "accepted_submissions": accepted,
            "results_served": served,
            "task_states": dict(Counter(record["state"] for record in records)),
            "tasks": records,
            "fault_rules": self.faults.rules(),
        }

    # Called by the request handler threads.
    def count_request(self, endpoint: str) -> None:
        with self._counter_lock:
            self._requests[endpoint] += 1

    def count_accepted(self) -> None:
        with self._counter_lock:
            self._accepted_submissions += 1

    def count_result_served(self) -> None:
        with self._counter_lock:
            self._results_served += 1

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server stops."""
        self._stopping.wait(max(0.0, float(seconds)))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    server_version = "AILabEmulator/1.0"
    server: _HTTPServer

    @property
    def emulator(self) -> EmulatorServer:
        return self.server.emulator

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        body = self._read_body()
        if body is None:
            self._send_provider_error("ERROR_REQUEST_BODY_TOO_LARGE", "request body too large")
            self.close_connection = True  # the unread body would corrupt the next request on this connection
            return
        path = url.path
        try:
            if path == SUBMIT_PATH:
                if self._only(method, "POST"):
                    self._submit(body)
            elif path == QUERY_PATH:
                if self._only(method, "GET"):
                    self._query(params)
            elif path.startswith(RESULTS_PREFIX):
                if self._only(method, "GET"):
                    self._result(path[len(RESULTS_PREFIX) :])
            elif path.startswith(ADMIN_PREFIX):
                self.emulator.count_request("admin")
                self._admin(method, path[len(ADMIN_PREFIX) :], body)
            else:
                self.emulator.count_request("other")
                self._send_provider_error("ERROR_AI_NOT_EXISTS", f"no API at {path}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout during a fault)

    def _only(self, method: str, allowed: str) -> bool:
        if method == allowed:
            return True
        self.emulator.count_request("other")
        self._send_provider_error("ERROR_ILLEGAL_OPERATION", f"{method} is not allowed here", status=405)
        return False

    # -- provider endpoints ------------------------------------------------------------------------------------

    def _submit(self, body: bytes) -> None:
        emulator = self.emulator
        emulator.count_request("submit")
        if not self._authorized():
            return
        rule = emulator.faults.pick("submit")
        if rule is not None and self._apply_common_fault(rule, "submit"):
            return
        files = self._multipart_files(body)
        for field_name in IMAGE_FIELDS:
            rejection = check_image(
                field_name,
                files.get(field_name),
                max_bytes=emulator.config.max_file_bytes,
                max_dimension=emulator.config.max_dimension,
            )
            if rejection is not None:
                self._send_provider_error(rejection.code, rejection.message)
                return
        fault = rule.fault if rule is not None else None
        if fault == "error_in_200":
            self._send_json(200, _error_in_200(rule))
            return
        task_fault = rule if fault in TASK_FAULTS else None
        task = emulator.tasks.create(
            files["image_target"],
            files["image_template"],
            task_fault,
            id_prefix=str(rule.param("prefix", "任务-")) if fault == "non_ascii_task_id" else "",
        )
        emulator.count_accepted()
        if fault == "accept_then_timeout":
            # The task exists and will be charged; the client only sees its read timeout expire.
            emulator.sleep(rule.param("seconds", emulator.config.fault_timeout_seconds))
        if fault == "accept_then_502":
            # The task exists and will be charged; a proxy in front lost the answer and says so in HTML.
            self._send(502, _HTML_502, "text/html")
            return
        body = success_envelope(task_type="async", task_id=task.task_id)
        self._send_json(200, _loosened(body) if fault == "loose_types" else body)

    def _query(self, params: dict[str, str]) -> None:
        emulator = self.emulator
        emulator.count_request("query")
        if not self._authorized():
            return
        rule = emulator.faults.pick("query")
        if rule is not None and self._apply_common_fault(rule, "query"):
            return
        task_id = params.get("task_id", "").strip()
        if not task_id:
            self._send_provider_error("MISSING_PARAMETERS", "task_id is required", status=400)
            return
        view = emulator.tasks.view(task_id)
        if view is None:
            self._send_provider_error("ERROR_RESOURCE_NOT_FOUND", f"task {task_id} does not exist or has expired")
            return
        fault = rule.fault if rule is not None else None
        if fault == "error_in_200":
            self._send_json(200, _error_in_200(rule))
        elif fault == "error_with_payload":
            body = success_envelope(task_status=2, data={"image": view.result_url or "https://example.invalid/x.jpg"})
            body["error_detail"]["code"] = str(rule.param("code", "ERROR_NO_FACE_IN_FILE"))
            self._send_json(200, body)
        elif fault == "loose_types":
            data = {"image": view.result_url} if view.task_status == 2 and view.failure is None else None
            body = success_envelope(task_status=view.task_status, **({"data": data} if data else {}))
            if view.failure is not None:
                self._send_failure(view.failure)
            else:
                self._send_json(200, _loosened(body))
        elif fault == "task_failed":
            self._send_failure(failure_from_fault(rule))
        elif fault == "task_status_3":
            self._send_json(200, success_envelope(task_status=3))
        elif fault == "never_finish":
            self._send_json(200, success_envelope(task_status=min(view.task_status, 1)))
        elif view.failure is not None:
            self._send_failure(view.failure)
        elif view.task_status == 2:
            self._send_json(200, success_envelope(task_status=2, data={"image": view.result_url}))
        else:
            self._send_json(200, success_envelope(task_status=view.task_status))

    def _result(self, name: str) -> None:
        emulator = self.emulator
        emulator.count_request("result")
        rule = emulator.faults.pick("result")
        if rule is not None and self._apply_common_fault(rule, "result"):
            return
        fault = rule.fault if rule is not None else None
        stored = None if fault == "result_expired" else emulator.tasks.result(name)
        if stored is None:
            self._send(404, _NO_SUCH_KEY, "application/xml")
            return
        if fault == "result_not_image":
            self._send(200, _NOT_IMAGE, "text/html; charset=utf-8")
            return
        # Counted before sending: a client that has read the body must find it counted (counting afterwards raced
        # with the client's next look at the stats).
        emulator.count_result_served()
        if fault == "result_slow":
            self._trickle(stored.content, stored.content_type, rule)
        elif fault == "headers_then_stall":
            self._start_response(200, stored.content_type, len(stored.content))
            self.wfile.flush()
            emulator.sleep(rule.param("seconds", emulator.config.fault_timeout_seconds))
            self.close_connection = True  # the body never comes; whatever the client still waits for ends here
        else:
            self._send(200, stored.content, stored.content_type)

    # -- faults --------------------------------------------------------------------------------------------------

    def _apply_common_fault(self, rule: FaultRule, endpoint: str) -> bool:
        """Apply a fault every endpoint shares; True when the response is done (or deliberately never sent)."""
        fault = rule.fault
        if fault not in HTTP_FAULTS and fault not in TRANSPORT_FAULTS:
            return False
        if fault == "timeout":
            self.emulator.sleep(rule.param("seconds", self.emulator.config.fault_timeout_seconds))
            return False  # then answer normally, long after the client stopped waiting
        if fault == "reset":
            self._reset_connection()
        elif fault == "malformed_json":
            self._send(200, _MALFORMED_JSON, "application/json")
        elif fault == "html_502":
            self._send(502, _HTML_502, "text/html")
        else:
            status, code = _HTTP_FAULT_ANSWERS[fault]
            status = int(rule.param("status", status))
            if endpoint == "result":
                self._send(status, f"<Error><Code>{code}</Code></Error>".encode(), "application/xml")
            else:
                self._send_provider_error(str(rule.param("code", code)), "injected fault", status=status)
        return True

    def _reset_connection(self) -> None:
        # SO_LINGER 0 makes close() send an RST: the client sees a reset with no response at all.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _trickle(self, content: bytes, content_type: str, rule: FaultRule | None) -> None:
        chunk = max(1, int(rule.param("chunk_bytes", 256))) if rule else 256
        delay = float(rule.param("delay_seconds", 0.05)) if rule else 0.05
        self._start_response(200, content_type, len(content))
        for offset in range(0, len(content), chunk):
            self.wfile.write(content[offset : offset + chunk])
            self.wfile.flush()
            self.emulator.sleep(delay)

    # -- admin -----------------------------------------------------------------------------------------------

    def _admin(self, method: str, route: str, body: bytes) -> None:
        emulator = self.emulator
        if route == "faults" and method == "GET":
            self._send_json(200, {"rules": emulator.faults.rules()})
        elif route == "faults" and method == "POST":
            try:
                rules = _rules_from_json(body)
            except ValueError as exc:
                self._send_json(400, {"error": {"code": "INVALID_FAULT", "message": str(exc)}})
                return
            emulator.faults.extend(rules)
            self._send_json(201, {"rules": emulator.faults.rules()})
        elif route == "faults" and method == "DELETE":
            emulator.faults.clear()
            self._send_json(200, {"rules": []})
        elif route == "stats" and method == "GET":
            self._send_json(200, emulator.stats())
        elif route == "tasks" and method == "GET":
            self._send_json(200, {"tasks": emulator.tasks.records()})
        elif route == "health" and method == "GET":
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"code": "ROUTE_NOT_FOUND", "message": f"{method} /__emulator/{route}"}})

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        key = (self.headers.get(API_KEY_HEADER) or "").strip()
        if not key:
            self._send_provider_error("ERROR_USER_NOT_EXISTS", "missing ailabapi-api-key header")
            return False
        if not self.emulator.config.key_is_valid(key):
            self._send_provider_error("ERROR_APPLICATIONS_NOT_EXISTS", "invalid or unknown API key")
            return False
        return True

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is larger than two maximum-size images and some slack."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        limit = 2 * self.emulator.config.max_file_bytes + 1024 * 1024
        if length > limit:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _multipart_files(self, body: bytes) -> dict[str, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        _, _, files = parse_form_data(environ, silent=True)
        return {name: files[name].read() for name in IMAGE_FIELDS if name in files}

    def _send_failure(self, failure: TaskFailure) -> None:
        self._send_provider_error(failure.code, failure.message, status=failure.http_status)

    def _send_provider_error(self, code: str, message: str, status: int | None = None) -> None:
        http_status, body = error_envelope(code, message, status)
        self._send_json(http_status, body)

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, content: bytes, content_type: str) -> None:
        self._start_response(status, content_type, len(content))
        self.wfile.write(content)

    def _start_response(self, status: int, content_type: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()


def _error_in_200(rule: FaultRule) -> dict[str, Any]:
    """A 200 with `error_code` 0 whose only sign of failure is an error code in one field, and no task fields."""
    code = str(rule.param("code", "ERROR_NO_FACE_IN_FILE"))
    body = success_envelope()
    if rule.param("field", "error_detail.code") == "error_code_str":
        body["error_code_str"] = code
    else:
        body["error_detail"].update(code=code, code_message="No face detected in the file.", message="no face")
    return body


def _loosened(body: dict[str, Any]) -> dict[str, Any]:
    """The same answer with the types other serialisers produce: numbers as strings or floats, objects as strings."""
    loose = dict(body)
    loose["error_code"] = float(body.get("error_code", 0))
    if "task_status" in loose:
        loose["task_status"] = f"{float(loose['task_status'])}"
    if isinstance(loose.get("data"), dict):
        loose["data"] = json.dumps(loose["data"])
    return loose


def _rules_from_json(body: bytes) -> list[FaultRule]:
    try:
        payload = json.loads(body or b"null")
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if isinstance(payload, dict) and "rules" in payload:
        payload = payload["rules"]
    items = payload if isinstance(payload, list) else [payload]
    return [FaultRule.from_dict(item) for item in items]
