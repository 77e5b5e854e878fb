"""Time in one place, so records, events and tests agree on the format."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_epoch() -> float:
    return time.time()


def iso(epoch: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and a `Z`, e.g. 2026-11-23T23:51:09.123Z."""
    moment = datetime.fromtimestamp(now_epoch() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
