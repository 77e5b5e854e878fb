"""Benchmark 1: the adaptive polling policy against the provider's fixed 5-second loop, by simulation.

Replays 10,000 jobs per distribution (seeded) through the real `faceswap.polling.PollPolicy`, with the typical
completion time learned by the real `faceswap.latency_stats.LatencyEstimate` from what the system records (the
elapsed time at the poll that saw success), and through the fixed loop. Each poll happens `POLL_OVERHEAD_SECONDS`
after its Wait ends (Query Lambda + provider round trip + transitions), for both.

Added latency = time from the provider finishing to the poll that notices it. Cost = AWS cost per 1,000 jobs from
`bench.cost_model` (Step Functions transitions counted from the ASL, Lambda, DynamoDB, S3, EventBridge, HTTP API).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from faceswap.latency_stats import LatencyEstimate
from faceswap.polling import PollPolicy

from bench import cost_model

JOBS = 10_000
WARMUP_JOBS = 300  # the stats item's history before the measured jobs
REFRESH_EVERY = 100  # jobs between estimate reads (the in-process cache: one GetItem a minute per container)
SEED = 20_261_124
FIXED_INTERVAL = 5
POLL_OVERHEAD_SECONDS = 0.3
DEADLINE_SECONDS = 600.0  # JobTimeoutSeconds default
CONFIGURED_EXPECTED = 12.0  # POLL_EXPECTED_SECONDS default: what the policy uses before it has learned anything
MIN_SECONDS, MAX_SECONDS = 2, 30  # POLL_MIN_SECONDS, POLL_MAX_SECONDS defaults
RESULTS = Path(__file__).resolve().parent / "results" / "polling.md"

SIGMA = 0.5


@dataclass(frozen=True)
class Distribution:
    name: str
    description: str
    sample: Callable[[np.random.Generator, int], np.ndarray]


def _lognormal(median: float, sigma: float = SIGMA) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: rng.lognormal(math.log(median), sigma, n)


def _heavy_tail(rng: np.random.Generator, n: int) -> np.ndarray:
    """80 % log-normal (median 15 s, sigma 0.5) + 20 % Pareto (from 20 s, alpha 1.5): a provider whose queue
    sometimes backs up. Capped at 550 s so every job finishes before the 600 s deadline."""
    body = rng.lognormal(math.log(15.0), 0.5, n)
    tail = 20.0 * (1.0 + rng.pareto(1.5, n))
    return np.minimum(np.where(rng.random(n) < 0.8, body, tail), 550.0)


DISTRIBUTIONS = [
    Distribution("lognormal-5s", f"log-normal, median 5 s, sigma {SIGMA}", _lognormal(5.0)),
    Distribution("lognormal-15s", f"log-normal, median 15 s, sigma {SIGMA}", _lognormal(15.0)),
    Distribution("lognormal-60s", f"log-normal, median 60 s, sigma {SIGMA}", _lognormal(60.0)),
    Distribution("heavy-tail", "80 % log-normal(15 s, 0.5) + 20 % Pareto(20 s, alpha 1.5), cap 550 s", _heavy_tail),
]


# -- one job ----------------------------------------------------------------------------------------------------
Schedule = tuple[Callable[[float], int], Callable[[float, float], int]]  # first_wait(remaining), next_wait(t, rem)


def fixed_loop() -> Schedule:
    """The provider SDK's loop: sleep 5 s, query, repeat (same deadline bound as ours)."""
    def first(remaining: float) -> int:
        return min(FIXED_INTERVAL, max(1, math.ceil(remaining)))

    def following(_: float, remaining: float) -> int:
        return min(FIXED_INTERVAL, max(1, math.ceil(remaining)))

    return first, following


def adaptive(policy: PollPolicy) -> Schedule:
    # Memoised per policy: poll times repeat exactly across jobs (integer waits plus a fixed overhead), so this
    # only saves recomputing the same real-policy answers.
    first = lru_cache(maxsize=None)(lambda remaining: policy.first_wait(remaining))
    following = lru_cache(maxsize=None)(lambda elapsed, remaining: policy.next_wait(elapsed, remaining))
    return first, following


def run_job(completion: float, schedule: Schedule) -> tuple[float | None, int, float, float]:
    """(added latency or None if timed out, polls, elapsed at the last poll, that poll's elapsed minus the wait
    before it: when the task was last known running, as the query step can compute it)."""
    first, following = schedule
    t = 0.0
    polls = 0
    wait = first(DEADLINE_SECONDS)
    while True:
        t = round(t + wait + POLL_OVERHEAD_SECONDS, 6)
        polls += 1
        if t >= completion:
            return t - completion, polls, t, t - wait
        remaining = DEADLINE_SECONDS - t
        if remaining <= 0:
            return None, polls, t, t - wait
        wait = following(t, round(remaining, 6))


# -- many jobs ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    label: str
    latencies: np.ndarray
    polls: np.ndarray
    timed_out: int
    learned: str = ""

    @property
    def polls_per_job(self) -> float:
        return float(self.polls.mean())

    @property
    def transitions_per_job(self) -> float:
        return cost_model.success_transitions(self.polls_per_job)

    @property
    def cost_per_1000(self) -> float:
        return cost_model.cost_per_1000_jobs(polls_per_job=self.polls_per_job).total


def policy_for(estimate: LatencyEstimate) -> PollPolicy:
    """What the query step builds: configured defaults until the stats item has enough samples."""
    if estimate.count < 5:
        return PollPolicy(expected_seconds=CONFIGURED_EXPECTED, min_seconds=MIN_SECONDS, max_seconds=MAX_SECONDS)
    return PollPolicy(expected_seconds=estimate.median_seconds, sigma=min(max(estimate.sigma, 0.1), 2.0),
                      min_seconds=MIN_SECONDS, max_seconds=MAX_SECONDS)


def simulate_fixed(completions: np.ndarray) -> Outcome:
    schedule = fixed_loop()
    return _collect("fixed 5 s loop", [run_job(float(c), schedule) for c in completions])


def simulate_adaptive(warmup: np.ndarray, completions: np.ndarray) -> Outcome:
    """Learn from warm-up jobs, then keep learning during the measured jobs (re-reading every REFRESH_EVERY)."""
    estimate = LatencyEstimate()
    results = []
    for phase, batch in (("warmup", warmup), ("measured", completions)):
        schedule = adaptive(policy_for(estimate))
        for index, completion in enumerate(batch):
            if index % REFRESH_EVERY == 0:
                schedule = adaptive(policy_for(estimate))
            latency, polls, noticed, after = run_job(float(completion), schedule)
            if latency is not None:  # what the query step records on success (LatencyStats.record(noticed, after=))
                estimate = estimate.updated(estimate.imputed(after, noticed))
            if phase == "measured":
                results.append((latency, polls, noticed))
    learned = f"median {estimate.median_seconds:.1f} s, sigma {estimate.sigma:.2f}"
    return _collect("adaptive (learned)", results, learned)


def _collect(label: str, results: list[tuple[float | None, int, float]], learned: str = "") -> Outcome:
    latencies = np.array([r[0] for r in results if r[0] is not None])
    polls = np.array([r[1] for r in results])
    return Outcome(label, latencies, polls, sum(1 for r in results if r[0] is None), learned)


def run_distribution(distribution: Distribution, seed: int) -> tuple[Outcome, Outcome]:
    rng = np.random.default_rng(seed)
    warmup = distribution.sample(rng, WARMUP_JOBS)
    completions = distribution.sample(rng, JOBS)
    return simulate_fixed(completions), simulate_adaptive(warmup, completions)


# -- report -------------------------------------------------------------------------------------------------------
def _row(outcome: Outcome) -> list[str]:
    lat = outcome.latencies
    return [outcome.label, f"{lat.mean():.2f}", f"{np.percentile(lat, 50):.2f}", f"{np.percentile(lat, 95):.2f}",
            f"{outcome.polls_per_job:.2f}", f"{outcome.transitions_per_job:.1f}", f"${outcome.cost_per_1000:.4f}",
            str(outcome.timed_out)]


HEADER = ["schedule", "mean added s", "p50 s", "p95 s", "polls/job", "transitions/job", "AWS $/1k jobs",
          "timed out"]


def main() -> int:
    lines = [
        "# Polling policy simulation",
        "",
        f"{JOBS:,} jobs per distribution (seed {SEED}), after {WARMUP_JOBS} warm-up jobs that build the learned",
        f"estimate. Each poll happens {POLL_OVERHEAD_SECONDS} s after its Wait ends (Query Lambda + provider round",
        f"trip), for both schedules. Deadline {DEADLINE_SECONDS:.0f} s. Adaptive = `PollPolicy` with min",
        f"{MIN_SECONDS} s, max {MAX_SECONDS} s, median and sigma from `LatencyEstimate` (EWMA of ln seconds, re-read",
        f"every {REFRESH_EVERY} jobs; {CONFIGURED_EXPECTED:.0f} s configured until 5 samples). Transitions/job =",
        f"{cost_model.FIXED_TRANSITIONS} + {cost_model.TRANSITIONS_PER_POLL} x polls (counted from the ASL). Cost",
        "includes everything in `bench/cost_model.py` (prices: see cost.md).",
        "",
    ]
    all_met = True
    for offset, distribution in enumerate(DISTRIBUTIONS):
        fixed, ours = run_distribution(distribution, SEED + offset)
        beats_latency = ours.latencies.mean() < fixed.latencies.mean()
        beats_cost = ours.cost_per_1000 < fixed.cost_per_1000
        all_met &= beats_latency and beats_cost
        lines += [f"## {distribution.name}: {distribution.description}", "",
                  "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(_row(outcome)) + " |" for outcome in (fixed, ours)]
        saving = 1 - ours.cost_per_1000 / fixed.cost_per_1000
        lines += ["", f"Learned: {ours.learned}. Adaptive vs fixed: added latency "
                      f"{ours.latencies.mean() - fixed.latencies.mean():+.2f} s "
                      f"({'better' if beats_latency else 'WORSE'}), cost {-saving:+.1%} "
                      f"({'better' if beats_cost else 'WORSE'}).", ""]
    lines.insert(len(lines), f"**Target (beat the fixed loop on mean added latency and cost for every distribution): "
                             f"{'met' if all_met else 'NOT met'}.**")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
