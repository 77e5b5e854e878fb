"""The adaptive poll policy: the schedule's shape, its bounds, and the deadline."""

from __future__ import annotations

import pytest
from faceswap.domain.polling import PollPolicy
from hypothesis import given
from hypothesis import strategies as st


def schedule(policy: PollPolicy, until: float) -> list[int]:
    waits = [policy.first_wait()]
    elapsed = float(waits[0])
    while elapsed < until:
        waits.append(policy.next_wait(elapsed))
        elapsed += waits[-1]
    return waits


@pytest.mark.parametrize("median", [5.0, 15.0, 60.0])
def test_polls_are_densest_around_the_typical_completion_time(median: float) -> None:
    policy = PollPolicy(expected_seconds=median, min_seconds=1, max_seconds=60, dense_seconds=4.0)
    first = policy.first_wait()
    near_median = policy.next_wait(median)
    late = policy.next_wait(median * 8)
    assert first > near_median  # no polls wasted while completion is unlikely
    assert late > near_median  # backs off when the task is late
    assert 3 <= near_median <= 6  # the dense interval (dense_seconds = 4)


def test_first_poll_is_past_the_median_for_a_fast_provider_and_before_it_for_a_slow_one() -> None:
    assert PollPolicy(expected_seconds=4.0).first_wait() > 4
    assert PollPolicy(expected_seconds=60.0).first_wait() < 60


def test_first_wait_follows_the_learned_median() -> None:
    assert PollPolicy(expected_seconds=120.0).first_wait() > PollPolicy(expected_seconds=20.0).first_wait()


def test_a_wider_spread_polls_earlier_first() -> None:
    assert (
        PollPolicy(expected_seconds=30.0, sigma=1.0).first_wait()
        < PollPolicy(expected_seconds=30.0, sigma=0.3).first_wait()
    )


def test_more_density_means_shorter_waits() -> None:
    assert PollPolicy(expected_seconds=30.0, dense_seconds=8).next_wait(30) > PollPolicy(
        expected_seconds=30.0, dense_seconds=2
    ).next_wait(30)


def test_waits_never_exceed_the_maximum_even_far_past_the_median() -> None:
    policy = PollPolicy(expected_seconds=10.0, min_seconds=2, max_seconds=20, dense_seconds=4.0)
    assert policy.next_wait(5000.0) == 20
    assert max(schedule(policy, 2000)) <= 20


def test_waits_never_fall_below_the_minimum() -> None:
    policy = PollPolicy(expected_seconds=1.0, min_seconds=3, max_seconds=30, dense_seconds=0.5)
    assert min(schedule(policy, 60)) >= 3


def test_the_deadline_caps_the_wait() -> None:
    policy = PollPolicy(expected_seconds=60.0, min_seconds=2, max_seconds=30, dense_seconds=20)
    assert policy.next_wait(60.0) > 8
    assert policy.next_wait(60.0, remaining=7.2) == 8
    assert policy.first_wait() > 4
    assert policy.first_wait(remaining=4.0) == 4


def test_a_passed_deadline_still_asks_for_one_second_not_zero_or_negative() -> None:
    assert PollPolicy().next_wait(700.0, remaining=-5.0) == 1


@given(
    median=st.floats(min_value=0.01, max_value=10_000),
    sigma=st.floats(min_value=0.0, max_value=5.0),
    elapsed=st.floats(min_value=-10, max_value=100_000),
    remaining=st.none() | st.floats(min_value=-100, max_value=100_000),
    min_seconds=st.integers(min_value=0, max_value=10),
    max_seconds=st.integers(min_value=0, max_value=300),
)
def test_every_wait_is_a_positive_int_within_bounds(
    median: float, sigma: float, elapsed: float, remaining: float | None, min_seconds: int, max_seconds: int
) -> None:
    policy = PollPolicy(expected_seconds=median, sigma=sigma, min_seconds=min_seconds, max_seconds=max_seconds)
    for wait in (policy.first_wait(remaining), policy.next_wait(elapsed, remaining)):
        assert isinstance(wait, int)
        assert 1 <= wait <= max(max_seconds, 1)  # SecondsPath needs an integer; we never ask for 0
