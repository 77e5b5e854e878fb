"""Helpers for the emulator tests: a fake swapper (no engine), a controllable clock, small test images, raw calls."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable

import requests
from PIL import Image, ImageOps

API_KEY = "test-key"
NO_FACE_COLOR = (255, 0, 255)  # a template of this colour makes the fake swapper raise a face error
CRASH_COLOR = (0, 255, 255)  # ... and this one makes it crash


def make_image(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (30, 120, 200)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


class FakeFaceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fake_swapper(target: bytes, template: bytes) -> tuple[bytes, str]:
    """Inverts the target; the marker templates raise like the engine would."""
    with Image.open(io.BytesIO(template)) as image:
        pixel = image.convert("RGB").getpixel((0, 0))
    if _near(pixel, NO_FACE_COLOR):
        raise FakeFaceError("ERROR_NO_FACE_IN_FILE", "no face in template")
    if _near(pixel, CRASH_COLOR):
        raise RuntimeError("engine crashed")
    with Image.open(io.BytesIO(target)) as image:
        inverted = ImageOps.invert(image.convert("RGB"))
    buffer = io.BytesIO()
    inverted.save(buffer, "PNG")
    return buffer.getvalue(), "image/png"


def _near(pixel: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(pixel, color, strict=True))  # JPEG shifts colours slightly


class FakeClock:
    def __init__(self) -> None:
        self._now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> object:
    """Poll until the condition is truthy (the swap runs in a worker thread); not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def submit(
    http: requests.Session, base_url: str, target: bytes | None = None, template: bytes | None = None, **kwargs
) -> requests.Response:
    files = {}
    if target is not None:
        files["image_target"] = ("target.jpg", target, "image/jpeg")
    if template is not None:
        files["image_template"] = ("template.jpg", template, "image/jpeg")
    return http.post(base_url + "/api/portrait/editing/ai-face-swap", files=files or {"other": ("x", b"x")}, **kwargs)


def query(http: requests.Session, base_url: str, task_id: str | None, **kwargs) -> requests.Response:
    params = {} if task_id is None else {"task_id": task_id}
    return http.get(base_url + "/api/common/query-async-task-result", params=params, **kwargs)
