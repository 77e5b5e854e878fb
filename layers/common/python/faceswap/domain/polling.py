"""When to ask the provider again: the query step returns the next wait, and the Wait state uses it (SecondsPath).

Every poll costs 3 Standard state transitions (Wait, Query, Choice) and one Lambda call; every second between the
provider finishing and our next poll is latency users feel. The schedule follows the classic inspection result
(Keller, "Optimum checking schedules", 1974): to trade expected detection delay against expected checks, poll at a
local interval proportional to 1 / sqrt(hazard), where the hazard is the chance per second that a still-running task
finishes now. The provider's completion time is modelled as log-normal (median `expected_seconds`, spread `sigma`,
both configured or learned by `faceswap.domain.latency`), so:

- the first poll comes where its own optimality condition holds (see `_first_poll_time`): just past the median
  for a fast provider, well before it for a slow one;
- around the median, when completion is likely, the waits are short;
- late, the log-normal hazard falls, so the waits grow (back-off), capped by `max_seconds` and the deadline.

Pure arithmetic (math only, about 0.1 ms per call): the query function imports nothing else for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_SQRT2 = math.sqrt(2.0)
_STANDARD = NormalDist()
_Z_START = -6.0  # the log-normal hazard is negligible below the median minus 6 sigma
_Z_STEP = 0.02  # integration step in z = (ln t - ln median) / sigma
_Z_END = 40.0  # beyond this the schedule is flat at max_seconds anyway


def _hazard(z: float, t: float, sigma: float) -> float:
    """Log-normal hazard f(t) / S(t) at t (z is t's standard score in log space)."""
    survival = 0.5 * math.erfc(z / _SQRT2)
    if survival < 1e-300:
        return z / (sigma * t)  # the Mills-ratio limit, where erfc underflows
    density = math.exp(-0.5 * z * z) / (t * sigma * math.sqrt(2.0 * math.pi))
    return density / survival


@dataclass(frozen=True)
class PollPolicy:
    expected_seconds: float = 12.0  # typical (median) provider completion time, from config or learned
    min_seconds: int = 2
    max_seconds: int = 30
    sigma: float = 0.5  # spread of ln(completion time); learned alongside the median when available
    # The interval around the median, where completion is most likely. Short, because with inline polling these
    # waits happen inside one Query invocation (see bench/results/polling.md for the tuning).
    dense_seconds: float = 2.5
    first_slack_seconds: float = 5.5  # first poll where F(t) / f(t) reaches this (see first_wait)

    def first_wait(self, remaining: float | None = None) -> int:
        """Seconds to wait after submission before the first poll."""
        return self._bounded(self._first_poll_time(), remaining)

    def _first_poll_time(self) -> float:
        """The first poll's optimality condition F(t1) = f(t1) * (t2 - t1 + lambda): polling at t1 catches the
        F(t1) tasks already done, each of which waited; moving it later helps the f(t1) tasks finishing right then.
        So poll first where F(t) / f(t) (increasing for a log-normal) reaches `first_slack_seconds`: past the median
        for fast providers (almost every task needs just one poll), well before it for slow ones."""
        median, sigma = max(self.expected_seconds, 0.1), max(self.sigma, 0.05)
        low, high = -6.0, 6.0
        for _ in range(40):
            z = (low + high) / 2
            t = median * math.exp(sigma * z)
            ratio = _STANDARD.cdf(z) * t * sigma / math.exp(-0.5 * z * z) * math.sqrt(2.0 * math.pi)
            low, high = (low, z) if ratio > self.first_slack_seconds else (z, high)
        return median * math.exp(sigma * (low + high) / 2)

    def next_wait(self, elapsed: float, remaining: float | None = None) -> int:
        """Seconds to wait before the next poll, `elapsed` seconds after submission."""
        return self._bounded(self._advance(max(elapsed, 0.0), 1.0), remaining)

    # -- the schedule ------------------------------------------------------------------------------------------
    def _advance(self, start: float, checks: float) -> float:
        """Seconds after `start` by which the poll count N(t) = integral of sqrt(h(t) / h(median)) / dense_seconds
        has grown by `checks` (a trapezoid walk in z; the hazard is smooth, so 0.02-sigma steps are plenty)."""
        median = max(self.expected_seconds, 0.1)
        sigma = max(self.sigma, 0.05)
        log_median = math.log(median)
        z = max(_Z_START, (math.log(start) - log_median) / sigma) if start > 0 else _Z_START
        t = math.exp(log_median + sigma * z)
        # dN/dz = sqrt(h(t) / h(median)) / dense_seconds * dt/dz; fold the constants into the target instead.
        target = checks * max(self.dense_seconds, 0.1) * math.sqrt(_hazard(0.0, median, sigma))
        rate = math.sqrt(_hazard(z, t, sigma)) * t * sigma
        accumulated = 0.0
        while z < _Z_END:
            z_next = z + _Z_STEP
            t_next = math.exp(log_median + sigma * z_next)
            rate_next = math.sqrt(_hazard(z_next, t_next, sigma)) * t_next * sigma
            step = 0.5 * (rate + rate_next) * _Z_STEP
            if accumulated + step >= target:
                fraction = (target - accumulated) / step if step > 0 else 1.0
                return max(t + fraction * (t_next - t) - start, 0.0)
            accumulated += step
            z, t, rate = z_next, t_next, rate_next
            if t - start > self.max_seconds:
                break  # the cap decides from here
        return float(self.max_seconds)

    def _bounded(self, wait: float, remaining: float | None) -> int:
        seconds = min(max(round(wait), self.min_seconds, 1), max(self.max_seconds, 1))
        if remaining is not None:
            # Wake up at the deadline rather than sleep past it (at least 1 s: we never ask Wait for 0 seconds).
            seconds = min(seconds, max(1, math.ceil(remaining)))
        return int(seconds)
