"""Emulator settings. Durations are in emulated seconds; `time_scale` multiplies all of them (0.01 = 100x faster)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_API_KEY = "emulator-test-key"


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    accept_any_key: bool = False  # any non-empty key passes (a missing key is still 401)
    queued_seconds: float = 0.5
    processing_seconds: float = 2.0
    # Per-task processing time drawn from the seeded RNG; overrides processing_seconds when set.
    processing_time: Callable[[random.Random], float] | None = None
    time_scale: float = 1.0
    result_ttl_seconds: float = 86400.0
    max_file_bytes: int = 5 * 1024 * 1024
    max_dimension: int = 4096  # width or height >= this is refused ("less than 4096x4096px")
    swap_workers: int = 2
    seed: int = 0
    public_base_url: str | None = None  # result URL host when the emulator sits behind a proxy
    fault_timeout_seconds: float = 30.0  # default sleep of the timeout / accept_then_timeout faults (not scaled)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        for name in ("queued_seconds", "processing_seconds", "result_ttl_seconds", "fault_timeout_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.swap_workers < 1:
            raise ValueError("swap_workers must be >= 1")
        self.api_keys = tuple(self.api_keys)

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds) * self.time_scale

    def key_is_valid(self, key: str | None) -> bool:
        if not key:
            return False
        return self.accept_any_key or key in self.api_keys
