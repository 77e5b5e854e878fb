"""Fixtures of the CLI tests: a fake API server, sample images, and a runner for `faceswap` in-process."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faceswap_client.cli import main
from PIL import Image

from tests.integration.client.fake_faceswap_api import GOOD_TOKEN, FakeServer


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
