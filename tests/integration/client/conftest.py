"""Fixtures of the SDK and CLI tests: a fake API server, sample images, a runner for `faceswap` in-process, and a
webhook receiver."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from faceswap_client import WebhookEvent, WebhookVerificationError, verify_webhook
from faceswap_client.cli import main
from PIL import Image

from tests.integration.client.fake_faceswap_api import GOOD_TOKEN, WEBHOOK_SECRET, FakeServer


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def api() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real AWS credentials, profiles or client settings leak into a test."""
    for name in (
        "FACESWAP_API",
        "FACESWAP_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 150, 120)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def photos(tmp_path: Path) -> tuple[Path, Path]:
    target = tmp_path / "target.jpg"
    template = tmp_path / "template.png"
    target.write_bytes(image_bytes("JPEG"))
    template.write_bytes(image_bytes("PNG"))
    return target, template


@pytest.fixture
def faceswap(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*args: str, token: str | None = GOOD_TOKEN) -> Run:
        argv = list(args)
        if token is not None:
            argv += ["--token", token]
        code = main(argv)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


class WebhookReceiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1 that verifies every delivery with `verify_webhook` (204, or 400 if it fails)."""

    daemon_threads = True

    def __init__(self, secrets: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.secrets = secrets
        self.verified: list[WebhookEvent] = []
        self.refused: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class ReceiverHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self.server.verified.append(verify_webhook(self.headers, body, self.server.secrets))
            self.send_response(204)
        except WebhookVerificationError as exc:
            self.server.refused.append(str(exc))
            self.send_response(400)
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver([WEBHOOK_SECRET]) as server:
        yield server
