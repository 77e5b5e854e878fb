"""`python -m faceswap_local serve` in a process of its own, as the serve and browser suites start it: its output
collected line by line, ready once it prints `Ready.`, stopped with SIGTERM (then killed) afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO

import pytest
from faceswap_local.stack import REPO

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def _pump(stream: IO[str], lines: list[str], ready: threading.Event) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))
        if line.startswith("Ready."):
            ready.set()


@contextmanager
def running_serve(arguments: Sequence[str]) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """The serve process with `arguments` after `serve`, and the lines it has printed so far (they keep coming)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "faceswap_local", "serve", *arguments],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    ready = threading.Event()
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(process.stdout, lines, ready), daemon=True).start()
    try:
        if not ready.wait(READY_TIMEOUT):
            pytest.fail("serve did not print Ready.:\n" + "\n".join(lines[-40:]))
        yield process, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
