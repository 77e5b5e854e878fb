"""Learning the provider's completion time from finished jobs: an exponentially weighted mean and variance of
ln(seconds), i.e. a log-normal fit that follows the last few dozen jobs (pure; stored by adapters/latency_store.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05  # weight of each new job: the estimate follows about the last 20-40 jobs
MIN_SAMPLES = 5  # below this the configured default is used
MIN_RECORDED_SECONDS, MAX_RECORDED_SECONDS = 0.1, 86_400.0
OUTLIER_SIGMAS = 4.0  # one absurd sample moves the estimate at most this many deviations' worth


@dataclass(frozen=True)
class LatencyEstimate:
    """EWMA of ln(seconds): `median = exp(mean_log)`, `sigma = sqrt(var_log)` of a log-normal fit."""

    count: int = 0
    mean_log: float = 0.0
    var_log: float = 0.0

    @property
    def median_seconds(self) -> float:
        return math.exp(self.mean_log)

    @property
    def sigma(self) -> float:
        return math.sqrt(max(self.var_log, 0.0))

    @staticmethod
    def imputed(after: float, by: float) -> float:
        """A point value for a task known to have finished in (after, by] (the previous poll saw it running, this
        one saw it done): the midpoint. Recording the poll time itself would bias the estimate upwards, and the
        policy would then poll later and later; the midpoint is slightly low for tasks caught by the first poll
        (after = 0), which errs towards polling earlier. (Imputing the model's own conditional median was tried
        and collapses: the model keeps confirming itself.)"""
        after, by = max(after, 0.0), max(by, 1e-3)
        return by if after >= by else (after + by) / 2

    def updated(self, seconds: float, alpha: float = ALPHA) -> LatencyEstimate:
        """The estimate after one more sample (the standard incremental EW mean/variance; the first samples are
        averaged plainly so the start-up value is not biased towards zero)."""
        x = math.log(min(max(float(seconds), MIN_RECORDED_SECONDS), MAX_RECORDED_SECONDS))
        if self.count == 0:
            return LatencyEstimate(1, x, 0.0)
        weight = max(alpha, 1.0 / (self.count + 1))
        diff = x - self.mean_log
        if self.count >= MIN_SAMPLES and self.var_log > 0:
            limit = max(OUTLIER_SIGMAS * self.sigma, 1.0)  # at least a factor e: a real change gets through
            diff = min(max(diff, -limit), limit)
        step = weight * diff
        return LatencyEstimate(self.count + 1, self.mean_log + step, (1.0 - weight) * (self.var_log + diff * step))

    def expected_seconds(self, default: float, min_samples: int = MIN_SAMPLES) -> float:
        """The learned median completion time (kept within 0.5 s .. 1 h), or `default` until `min_samples`."""
        if self.count < min_samples:
            return default
        return min(max(self.median_seconds, 0.5), 3600.0)

    def expected_sigma(self, default: float = 0.5, min_samples: int = MIN_SAMPLES) -> float:
        """The learned spread of ln(completion time) (kept within 0.1 .. 2), or `default` until `min_samples`."""
        if self.count < min_samples:
            return default
        return min(max(self.sigma, 0.1), 2.0)
