"""Where the provider's learned completion time lives (the statistics themselves: faceswap.domain.latency).

One small item in the jobs table, `job_id = "__stats__#provider_latency"`, holds an exponentially weighted mean and
variance of ln(seconds) and a sample count. It can never be taken for a job: it has no `owner`/`status`, and every
job id is checked against `^[0-9a-f]{32}$` before the table is read (the API answers 400 `INVALID_JOB_ID`, workflow
steps raise `INTERNAL_ERROR`), and nothing scans the table. It carries `expires_at` (the table's TTL attribute),
refreshed on every update, so an estimate from a service idle for 30 days disappears and the configured default
applies again.

Cost: `record` is one GetItem plus one conditional UpdateItem per finished job (optimistic concurrency on the
count: DynamoDB update expressions cannot multiply, so an EWMA cannot be a blind atomic ADD). `expected_*` is one
GetItem per process per `cache_seconds` (the query step asks on every poll; the cache keeps that free).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from faceswap.adapters import aws_clients
from faceswap.domain.latency import MIN_SAMPLES, LatencyEstimate

STATS_ITEM_ID = "__stats__#provider_latency"
ITEM_TTL_SECONDS = 30 * 86_400
_MAX_ATTEMPTS = 3


_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, LatencyEstimate]] = {}  # table -> (read at, estimate), shared by warm invocations


class LatencyStats:
    def __init__(
        self, store_or_table: Any = None, *, cache_seconds: float = 60.0, min_samples: int = MIN_SAMPLES
    ) -> None:
        if isinstance(store_or_table, str):
            self.table_name = store_or_table
        elif store_or_table is not None and hasattr(store_or_table, "table_name"):
            self.table_name = store_or_table.table_name  # a JobStore
        else:
            from faceswap.config import settings

            self.table_name = settings().jobs_table
        self.cache_seconds = cache_seconds
        self.min_samples = min_samples
        self._db = aws_clients.client("dynamodb")

    # -- reads -------------------------------------------------------------------------------------------------
    def estimate(self) -> LatencyEstimate:
        """The current estimate (count 0 when there is none or it cannot be read: statistics never fail a job)."""
        now = time.monotonic()
        with _cache_lock:
            cached = _cache.get(self.table_name)
        if cached is not None and self.cache_seconds > 0 and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            estimate, _ = self._read()
        except (ClientError, BotoCoreError):
            return cached[1] if cached else LatencyEstimate()
        with _cache_lock:
            _cache[self.table_name] = (now, estimate)
        return estimate

    def expected_seconds(self, default: float) -> float:
        """The learned median completion time, or `default` until `min_samples` jobs have been recorded."""
        return self.estimate().expected_seconds(default, self.min_samples)

    def expected_sigma(self, default: float = 0.5) -> float:
        """The learned spread of ln(completion time), or `default` until `min_samples` jobs have been recorded."""
        return self.estimate().expected_sigma(default, self.min_samples)

    # -- writes ------------------------------------------------------------------------------------------------
    def record(self, seconds: float, *, after: float | None = None) -> bool:
        """Fold one finished job's provider latency into the estimate: `seconds` after submission the task was seen
        done; `after`, if given, is when it was last seen running (the previous poll, or 0), and the value folded
        in is the interval's midpoint. False when the sample was dropped (bad value, or the write
        kept conflicting or failing): the estimate is advisory, so this never raises for AWS errors."""
        numbers = [seconds] if after is None else [seconds, after]
        if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
            return False
        if seconds <= 0:
            return False
        for _ in range(_MAX_ATTEMPTS):
            try:
                current, exists = self._read()
                value = seconds if after is None else current.imputed(after, seconds)
                new = current.updated(value)
                self._write(new, expected_count=current.count if exists else None)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue  # another job recorded first: read again and retry
                return False
            except BotoCoreError:
                return False
            with _cache_lock:
                _cache[self.table_name] = (time.monotonic(), new)
            return True
        return False

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _read(self) -> tuple[LatencyEstimate, bool]:
        response = self._db.get_item(
            TableName=self.table_name, Key={"job_id": {"S": STATS_ITEM_ID}}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return LatencyEstimate(), False
        try:
            return LatencyEstimate(
                int(item["count"]["N"]), float(item["mean_log"]["N"]), float(item["var_log"]["N"])
            ), True
        except (KeyError, ValueError):
            return LatencyEstimate(), True  # unreadable: start again (the write below replaces it)

    def _write(self, estimate: LatencyEstimate, *, expected_count: int | None) -> None:
        condition = "attribute_not_exists(job_id)" if expected_count is None else "#count = :previous"
        values: dict[str, Any] = {
            ":count": {"N": str(estimate.count)},
            ":mean": {"N": _number(estimate.mean_log)},
            ":var": {"N": _number(estimate.var_log)},
            ":expires": {"N": str(int(time.time()) + ITEM_TTL_SECONDS)},
        }
        if expected_count is not None:
            values[":previous"] = {"N": str(expected_count)}
        self._db.update_item(
            TableName=self.table_name,
            Key={"job_id": {"S": STATS_ITEM_ID}},
            UpdateExpression="SET #count = :count, mean_log = :mean, var_log = :var, expires_at = :expires",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#count": "count"},  # COUNT is a DynamoDB reserved word
            ExpressionAttributeValues=values,
        )


def _number(value: float) -> str:
    return f"{value:.12g}"


def clear_cache() -> None:
    """Forget cached estimates (tests; the local stack between runs)."""
    with _cache_lock:
        _cache.clear()
