"""The local AWS endpoint: moto's server application on a fixed or free port, optionally behind a WSGI wrapper
(the local S3's presigned-POST policy checks)."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class PortInUseError(OSError):
    """The port is taken; the message is one line for the console."""


def bind(host: str, port: int, what: str, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(f"{what}: port {port} on {host} is already in use (choose another port)") from None
        raise


class LocalEndpoint:
    def __init__(self, host: str, port: int, wrap: Callable[[Any], Any] | None = None) -> None:
        self.host = host
        self.port = port
        self._wrap = wrap
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app: Any = DomainDispatcherApplication(create_backend_app)
        if self._wrap is not None:
            app = self._wrap(app)
        self._server = bind(
            self.host,
            self.port,
            "local AWS endpoint",
            lambda: make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler),
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws-endpoint", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
