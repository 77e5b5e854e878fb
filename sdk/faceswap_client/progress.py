"""Progress while waiting: one line rewritten in place on a terminal, one line per status change otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

CLEAR_LINE = "\r\x1b[K"


class Progress:
    def __init__(
        self,
        stream: TextIO,
        job_id: str,
        *,
        enabled: bool = True,
        is_tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.job_id = job_id
        self.enabled = enabled
        self.is_tty = stream.isatty() if is_tty is None else is_tty
        self.clock = clock
        self.started = clock()
        self.last_status: str | None = None
        self.line_open = False

    def elapsed(self) -> float:
        return self.clock() - self.started

    def update(self, status: str) -> None:
        if not self.enabled:
            return
        line = f"job {self.job_id}: {status} ({self.elapsed():.1f}s)"
        if self.is_tty:
            self.stream.write(CLEAR_LINE + line)
            self.line_open = True
        elif status != self.last_status:
            self.stream.write(line + "\n")
        self.last_status = status
        self.stream.flush()

    def finish(self) -> None:
        """End the in-place line so later messages start on a fresh one."""
        if self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False
