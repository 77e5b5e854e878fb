"""The learned provider latency: one stats item in the jobs table (moto), EWMA of ln(seconds)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from faceswap.adapters import latency_store
from faceswap.adapters.job_table import JobStore
from faceswap.adapters.latency_store import STATS_ITEM_ID, LatencyStats
from faceswap.domain import ids
from faceswap.domain.latency import MIN_SAMPLES, LatencyEstimate

from tests.unit.conftest import TABLE, FakeAws


@pytest.fixture
def stats(fake_aws: FakeAws) -> Iterator[LatencyStats]:
    latency_store.clear_cache()
    yield LatencyStats(TABLE, cache_seconds=0)
    latency_store.clear_cache()


def test_falls_back_to_the_default_until_enough_samples(stats: LatencyStats) -> None:
    assert stats.expected_seconds(12.0) == 12.0
    for _ in range(MIN_SAMPLES - 1):
        assert stats.record(30.0)
    assert stats.expected_seconds(12.0) == 12.0
    assert stats.expected_sigma(0.5) == 0.5
    assert stats.record(30.0)
    assert stats.expected_seconds(12.0) == pytest.approx(30.0)


def test_learns_the_median_and_spread_of_the_provider_latency(stats: LatencyStats) -> None:
    samples = [20.0 * math.exp(0.5 * z) for z in (-1.5, -1, -0.5, 0, 0.5, 1, 1.5)] * 6
    for seconds in samples:
        stats.record(seconds)
    assert stats.expected_seconds(5.0) == pytest.approx(20.0, rel=0.15)
    assert 0.3 < stats.expected_sigma(0.1) < 0.8


def test_follows_a_change_in_provider_speed(stats: LatencyStats) -> None:
    for _ in range(30):
        stats.record(10.0)
    for _ in range(60):
        stats.record(40.0)
    assert stats.expected_seconds(1.0) > 30.0


def test_one_absurd_sample_moves_the_estimate_only_a_little(stats: LatencyStats) -> None:
    for seconds in [9.0, 11.0] * 10:
        stats.record(seconds)
    before = stats.expected_seconds(1.0)
    stats.record(80_000.0)
    assert stats.expected_seconds(1.0) < before * 1.5


def test_records_the_midpoint_of_the_interval_the_task_finished_in(stats: LatencyStats) -> None:
    for _ in range(MIN_SAMPLES):
        stats.record(24.0, after=16.0)
    assert stats.expected_seconds(1.0) == pytest.approx(20.0)


@pytest.mark.parametrize("bad", [0, -3.0, math.nan, math.inf, "12", None, True])
def test_invalid_samples_are_dropped_without_writing(stats: LatencyStats, fake_aws: FakeAws, bad: object) -> None:
    assert stats.record(bad) is False  # type: ignore[arg-type]
    assert "Item" not in fake_aws.dynamodb.get_item(TableName=TABLE, Key={"job_id": {"S": STATS_ITEM_ID}})


def test_the_stats_item_is_never_a_job(stats: LatencyStats, fake_aws: FakeAws) -> None:
    stats.record(15.0)
    item = fake_aws.dynamodb.get_item(TableName=TABLE, Key={"job_id": {"S": STATS_ITEM_ID}})["Item"]
    assert "owner" not in item and "status" not in item
    assert not ids.is_job_id(STATS_ITEM_ID)  # the API rejects it as INVALID_JOB_ID before reading the table
    assert int(item["expires_at"]["N"]) > 0  # the table's TTL removes an estimate nobody refreshes
    with pytest.raises(TypeError):  # and even read by its exact id it does not load as a Job
        JobStore(TABLE).get(STATS_ITEM_ID)


def test_a_concurrent_update_is_retried_not_lost(stats: LatencyStats, monkeypatch: pytest.MonkeyPatch) -> None:
    stats.record(10.0)
    other = LatencyStats(TABLE, cache_seconds=0)
    real_read = stats._read
    raced = {"done": False}

    def read_then_race() -> tuple[LatencyEstimate, bool]:
        result = real_read()
        if not raced["done"]:
            raced["done"] = True
            other.record(10.0)  # lands between our read and our conditional write
        return result

    monkeypatch.setattr(stats, "_read", read_then_race)
    assert stats.record(10.0)
    assert stats.estimate().count == 3


def test_reads_are_cached_per_process(fake_aws: FakeAws) -> None:
    latency_store.clear_cache()
    cached = LatencyStats(TABLE, cache_seconds=60)
    assert cached.expected_seconds(7.0) == 7.0
    for _ in range(10):
        LatencyStats(TABLE, cache_seconds=0).record(50.0)
    latency_store.clear_cache()
    cached.expected_seconds(7.0)  # re-read after the cache is cleared
    fake_aws.dynamodb.delete_item(TableName=TABLE, Key={"job_id": {"S": STATS_ITEM_ID}})
    assert cached.expected_seconds(7.0) == pytest.approx(50.0)  # served from the cache, no read
    latency_store.clear_cache()


def test_an_unreachable_table_never_fails_the_job(fake_aws: FakeAws) -> None:
    latency_store.clear_cache()
    missing = LatencyStats("no-such-table", cache_seconds=0)
    assert missing.record(10.0) is False
    assert missing.expected_seconds(9.0) == 9.0


def test_accepts_a_job_store(fake_aws: FakeAws) -> None:
    assert LatencyStats(JobStore(TABLE)).table_name == TABLE
