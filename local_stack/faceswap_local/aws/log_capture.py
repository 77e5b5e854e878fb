"""Per-thread capture of what a handler writes to stdout/stderr (print and Powertools' JSON log lines).

``contextlib.redirect_stdout`` is process-wide and would swallow other threads' output, so the streams are replaced
by router objects: writes from a thread that runs a handler go to that invocation's line callback, everything else
passes through to the stream that was there before.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

LineCallback = Callable[[str], None]
_local = threading.local()


class _Capture:
    def __init__(self, on_line: LineCallback) -> None:
        self.on_line = on_line
        self.pending = ""
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self._emit(line)

    def flush_pending(self) -> None:
        if self.pending:
            line, self.pending = self.pending, ""
            self._emit(line)

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        self.lines.append(line)
        self.on_line(line)


class RoutingStream(io.TextIOBase):
    """A text stream that sends the current thread's writes to its capture, if any, else to ``passthrough``."""

    def __init__(self, passthrough: object) -> None:
        super().__init__()
        self.passthrough = passthrough

    def write(self, text: str) -> int:
        capture: _Capture | None = getattr(_local, "capture", None)
        if capture is not None:
            capture.write(text)
        else:
            self.passthrough.write(text)  # type: ignore[attr-defined]
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "capture", None) is None:
            flush = getattr(self.passthrough, "flush", None)
            if flush is not None:
                flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.passthrough, "encoding", "utf-8") or "utf-8"


class StreamRouter:
    """Installs routing streams on sys.stdout/sys.stderr and on logging StreamHandlers; restores them on uninstall."""

    def __init__(self) -> None:
        self._adopted_handlers: list[tuple[logging.StreamHandler, object]] = []
        self._lock = threading.Lock()

    def ensure_installed(self) -> None:
        """(Re)install routers; something (e.g. pytest's capture) may have swapped sys.stdout since last time."""
        with self._lock:
            for name in ("stdout", "stderr"):
                current = getattr(sys, name)
                if not isinstance(current, RoutingStream):
                    setattr(sys, name, RoutingStream(current))
            self._adopt_logging_handlers()

    def _adopt_logging_handlers(self) -> None:
        # Loggers created before the routers (Powertools keeps the stream it saw at creation) still need routing.
        loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                if type(handler) is logging.StreamHandler and not isinstance(handler.stream, RoutingStream):
                    self._adopted_handlers.append((handler, handler.stream))
                    handler.stream = RoutingStream(handler.stream)

    def uninstall(self) -> None:
        with self._lock:
            for name in ("stdout", "stderr"):
                current = getattr(sys, name)
                while isinstance(current, RoutingStream):
                    current = current.passthrough
                setattr(sys, name, current)
            for handler, stream in self._adopted_handlers:
                handler.stream = stream
            self._adopted_handlers.clear()


@contextmanager
def capture_thread_output(on_line: LineCallback) -> Iterator[list[str]]:
    """Route this thread's stdout/stderr writes to ``on_line`` (one call per non-empty line); yields all lines."""
    previous = getattr(_local, "capture", None)
    capture = _Capture(on_line)
    _local.capture = capture
    try:
        yield capture.lines
    finally:
        capture.flush_pending()
        _local.capture = previous
