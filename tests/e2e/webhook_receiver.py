"""A webhook receiver on 127.0.0.1 for the tests: answers from a script, verifies every delivery with the
`standardwebhooks` library, and records what arrived."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    verified_with: list[str] = field(default_factory=list)  # the secrets that verify it


class Receiver:
    """`script`: what to answer, one entry per request (int status, ("sleep", seconds, status), ("redirect", url));
    after the script, `then` (default 200)."""

    def __init__(self, secrets: list[str], script: list[Any] | None = None, *, then: Any = 200, port: int = 0):
        self.secrets = list(secrets)
        self.script = list(script or [])
        self.then = then
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                delivery = Delivery(self.path, headers, body, time.time())
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        delivery.verified_with.append(secret)
                    except Exception:  # noqa: S112 - a secret that does not verify is what is being recorded
                        continue
                with receiver._lock:
                    action = receiver.script.pop(0) if receiver.script else receiver.then
                    receiver.deliveries.append(delivery)
                    receiver._arrived.notify_all()
                status, extra = action, {}
                if isinstance(action, tuple) and action[0] == "sleep":
                    time.sleep(action[1])
                    status = action[2]
                elif isinstance(action, tuple) and action[0] == "redirect":
                    status, extra = 302, {"Location": action[1]}
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self.deliveries)}/{count} deliveries after {timeout}s")
            return list(self.deliveries)


@contextmanager
def receiver(secrets: list[str], script: list[Any] | None = None, **kwargs: Any) -> Iterator[Receiver]:
    server = Receiver(secrets, script, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
