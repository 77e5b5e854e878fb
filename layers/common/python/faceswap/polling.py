"""When to ask the provider again: the query step returns the next wait, and the Wait state uses it (SecondsPath).

The policy polls around the provider's typical completion time, densely while completion is likely, then backs off
geometrically when the task is late, within [min, max] and never past the job's deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    expected_seconds: float = 12.0  # typical (median) provider completion time
    min_seconds: int = 2
    max_seconds: int = 30
    first_fraction: float = 0.8  # first poll a little before the typical completion
    dense_until: float = 2.5  # poll densely until this multiple of the expected time
    dense_fraction: float = 0.2  # dense interval as a fraction of the expected time
    backoff_fraction: float = 0.3  # late tasks: wait this fraction of the time already spent

    def first_wait(self, remaining: float | None = None) -> int:
        return self._bounded(self.expected_seconds * self.first_fraction, remaining)

    def next_wait(self, elapsed: float, remaining: float | None = None) -> int:
        """Seconds to wait before the next poll, `elapsed` seconds after submission."""
        if elapsed < self.expected_seconds * self.dense_until:
            wait = self.expected_seconds * self.dense_fraction
        else:
            wait = elapsed * self.backoff_fraction
        return self._bounded(wait, remaining)

    def _bounded(self, wait: float, remaining: float | None) -> int:
        seconds = min(max(round(wait), self.min_seconds), self.max_seconds)
        if remaining is not None:
            # Wake up at the deadline rather than sleep past it (at least 1 s: SecondsPath needs a positive int).
            seconds = min(seconds, max(1, math.ceil(remaining)))
        return int(seconds)
