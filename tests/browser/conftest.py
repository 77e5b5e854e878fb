"""A real browser (Debian's Chromium driven by Playwright) against `make serve` in its own process.

The stack runs with CORS origins set, as a deployed stack would: the page served by the stack itself (the API's
origin) uploads cross-origin to the local S3 endpoint, and a second origin serves the playground folder as plain
static files, against the API on another port.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.helpers import PLAYGROUND, BrowserPage, Served, StaticSite, free_port
from tests.serve_process import running_serve

# Chromium must not try to reach anything outside this machine (updates, sync, field trials).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _static_site() -> Iterator[StaticSite]:
    handler = functools.partial(QuietHandler, directory=str(PLAYGROUND))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield StaticSite(f"http://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def static_site() -> Iterator[StaticSite]:
    """Listed in the stack's CORS origins."""
    yield from _static_site()


@pytest.fixture(scope="session")
def foreign_site() -> Iterator[StaticSite]:
    """Not listed in the stack's CORS origins."""
    yield from _static_site()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, static_site: StaticSite) -> Iterator[Served]:
    """`make serve` as a user runs it, on free ports, allowing the static site's origin as well as its own."""
    state = tmp_path_factory.mktemp("browser-serve")
    port, aws_port = free_port(), free_port()
    arguments = [
        "--port", str(port), "--aws-port", str(aws_port), "--state-dir", str(state),
        "--time-scale", "0.05", "--processing-seconds", "0.3",
        "--cors-origin", static_site.url,
    ]  # fmt: skip
    with running_serve(arguments) as (_, lines):
        iam = json.loads((state / "iam-user.json").read_text())
        yield Served(
            f"http://127.0.0.1:{port}",
            (state / "token.txt").read_text().strip(),
            json.loads((state / "outputs.json").read_text()),
            iam["access_key_id"],
            iam["secret_access_key"],
            lines,
        )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install -y chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh browser context and page; afterwards, nothing may have been fetched from beyond 127.0.0.1."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    requests: list[str] = []
    console_errors: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        yield BrowserPage(page, requests, console_errors)
    finally:
        context.close()
    outside = [r for r in requests if not r.split(" ", 1)[1].startswith(("http://127.0.0.1:", "blob:", "data:"))]
    assert not outside, f"the page fetched from outside this machine: {outside}"
    assert not console_errors, f"uncaught errors in the page: {console_errors}"


@pytest.fixture(scope="session")
def faceless_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smooth colour gradient: a valid photo with no face in it."""
    from PIL import Image

    size = 256
    image = Image.new("RGB", (size, size))
    image.putdata([(x, y, (x + y) // 2) for y in range(size) for x in range(size)])
    path = tmp_path_factory.mktemp("photos") / "sky.png"
    image.save(path)
    return path
