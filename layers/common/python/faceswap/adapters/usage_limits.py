"""Job limits, counted atomically in the limits table (partition key `counter_id`, TTL attribute `expires_at`).

Per caller: at most `max_active` unfinished jobs and `max_per_day` new jobs per UTC day, so one leaked token cannot
spend all credits. Both are checked and counted in ONE DynamoDB transaction with conditions, so concurrent creates
cannot overshoot either limit. The active jobs are a string set of job ids (adding the same job twice counts once);
a job that ended stops counting: when the set is full, members whose job has ended (or never got its photos before
the upload forms expired) are removed and the create is tried again, so nothing depends on a release step that a
crash could skip. DELETE also releases at once.

Deployment-wide: jobs from the drop zone and EventBridge share one daily counter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from faceswap.adapters import aws_clients
from faceswap.adapters.job_table import JobStore
from faceswap.domain.clock import now_epoch, parse_iso
from faceswap.domain.errors import StorageRequestError, StorageTransientError
from faceswap.domain.job import AWAITING_UPLOAD, PROCESSING, QUEUED

TOO_MANY_ACTIVE_JOBS = "TOO_MANY_ACTIVE_JOBS"
DAILY_QUOTA_EXCEEDED = "DAILY_QUOTA_EXCEEDED"
ACTIVE_RETRY_AFTER_SECONDS = 30  # about one job's run time: by then a slot has usually freed
DEPLOYMENT_OWNER = "system:events"  # the drop zone and EventBridge requests, together
_THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_CONFLICT_ATTEMPTS = 6  # concurrent transactions on one counter are refused (TransactionConflict): try again


class LimitExceeded(Exception):
    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after


def seconds_until_next_utc_day(now: float) -> int:
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
    return max(1, int(midnight - now + 0.999))


class UsageLimits:
    def __init__(
        self,
        table_name: str,
        store: JobStore,
        *,
        max_active: int,
        max_per_day: int,
        stale_upload_seconds: int,
    ) -> None:
        self.table_name = table_name
        self.store = store
        self.max_active = max_active
        self.max_per_day = max_per_day
        self.stale_upload_seconds = stale_upload_seconds
        self._db = aws_clients.client("dynamodb")

    # -- per caller --------------------------------------------------------------------------------------------
    def admit(self, owner: str, job_id: str) -> None:
        """Count a new job for `owner`, or raise LimitExceeded without counting anything."""
        now = now_epoch()
        active = _active_key(owner)
        for healed in (False, True):
            failed = self._transact(
                [self._add_active(active, job_id, now), self._count_day(_day_key(owner, now), self.max_per_day, now)]
            )
            if failed is None:
                return
            if failed == 1:
                raise self._daily_exceeded(self.max_per_day, now, "you")
            if healed or not self._remove_ended(active, keep=job_id, now=now):
                raise LimitExceeded(
                    TOO_MANY_ACTIVE_JOBS,
                    f"You have {self.max_active} unfinished jobs, the most allowed at once; wait for one to finish.",
                    ACTIVE_RETRY_AFTER_SECONDS,
                )

    def release(self, owner: str, job_id: str) -> None:
        """The job no longer counts as active (idempotent)."""
        self._call(
            "update_item",
            TableName=self.table_name,
            Key={"counter_id": {"S": _active_key(owner)}},
            UpdateExpression="DELETE jobs :job",
            ExpressionAttributeValues={":job": {"SS": [job_id]}},
        )

    # -- deployment-wide ---------------------------------------------------------------------------------------
    def count_deployment_job(self, max_per_day: int) -> None:
        """Count a job from the drop zone or EventBridge, or raise LimitExceeded."""
        now = now_epoch()
        if self._transact([self._count_day(_day_key(DEPLOYMENT_OWNER, now), max_per_day, now)]) is not None:
            raise self._daily_exceeded(max_per_day, now, "the drop zone and EventBridge together")

    # -- internals ---------------------------------------------------------------------------------------------
    def _add_active(self, key: str, job_id: str, now: float) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"counter_id": {"S": key}},
                "UpdateExpression": "ADD jobs :job SET updated_at = :now",
                "ConditionExpression": "attribute_not_exists(jobs) OR size(jobs) < :max OR contains(jobs, :id)",
                "ExpressionAttributeValues": {
                    ":job": {"SS": [job_id]},
                    ":id": {"S": job_id},
                    ":max": {"N": str(self.max_active)},
                    ":now": {"N": str(int(now))},
                },
            }
        }

    def _count_day(self, key: str, limit: int, now: float) -> dict[str, Any]:
        expires_at = int(now) + seconds_until_next_utc_day(now) + 86_400  # the TTL removes yesterday's counters
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"counter_id": {"S": key}},
                "UpdateExpression": "ADD jobs_created :one SET expires_at = :expires",
                "ConditionExpression": "attribute_not_exists(jobs_created) OR jobs_created < :max",
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":max": {"N": str(limit)},
                    ":expires": {"N": str(expires_at)},
                },
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> int | None:
        """Run the transaction; None when it went through, else the index of the item whose condition failed."""
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                self._call("transact_write_items", TransactItems=items)
                return None
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = [str(r.get("Code", "")) for r in error.response.get("CancellationReasons") or []]
                for index, reason in enumerate(reasons):
                    if reason == "ConditionalCheckFailed":
                        return index
                if not any(reason in ("TransactionConflict", *_THROTTLING) for reason in reasons):
                    raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # full jitter between conflicting callers
        raise StorageTransientError("DynamoDB TransactWriteItems: conflicting updates of a limit counter")

    def _remove_ended(self, key: str, *, keep: str, now: float) -> bool:
        """Drop members whose job has ended or can no longer start; True if any was dropped."""
        item = self._call(
            "get_item", TableName=self.table_name, Key={"counter_id": {"S": key}}, ConsistentRead=True
        ).get("Item", {})
        members = [job_id for job_id in item.get("jobs", {}).get("SS", []) if job_id != keep]
        ended = [job_id for job_id in members if not self._still_active(job_id, now)]
        if ended:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key={"counter_id": {"S": key}},
                UpdateExpression="DELETE jobs :ended",
                ExpressionAttributeValues={":ended": {"SS": ended}},
            )
        return bool(ended)

    def _still_active(self, job_id: str, now: float) -> bool:
        job = self.store.get(job_id)
        if job is None or job.status not in (AWAITING_UPLOAD, QUEUED, PROCESSING):
            return False
        if job.status == AWAITING_UPLOAD and not job.uploads:
            # Its upload forms have expired without a single photo: it can never start.
            return now - parse_iso(job.created_at) <= self.stale_upload_seconds
        return True

    def _daily_exceeded(self, limit: int, now: float, whose: str) -> LimitExceeded:
        return LimitExceeded(
            DAILY_QUOTA_EXCEEDED,
            f"The daily limit of {limit} jobs for {whose} is reached; it resets at 00:00 UTC.",
            seconds_until_next_utc_day(now),
        )

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._db, operation)(**kwargs)
        except ClientError as error:
            if _code(error) in _THROTTLING:
                raise StorageTransientError(f"DynamoDB {operation}: {_code(error)}") from error
            raise
        except ParamValidationError as error:
            raise StorageRequestError(f"DynamoDB {operation} refused its parameters: {str(error)[:300]}") from error
        return result


def _owner_hash(owner: str) -> str:
    # Owners are ARNs or JWT subjects of any length and alphabet; a hash makes a short, uniform key.
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _active_key(owner: str) -> str:
    return f"active#{_owner_hash(owner)}"


def _day_key(owner: str, now: float) -> str:
    return f"day#{_owner_hash(owner)}#{dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
