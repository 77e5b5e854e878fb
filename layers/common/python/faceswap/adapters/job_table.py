"""The jobs table: the single source of truth for a job's status. Every transition is a conditional write, so
duplicate deliveries and concurrent steps can never move a job backwards or past a terminal state."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.domain.clock import iso, now_epoch
from faceswap.domain.errors import JobError, StorageTransientError

AWAITING_UPLOAD = "awaiting_upload"
QUEUED = "queued"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
DELETED = "deleted"
TERMINAL = frozenset({SUCCEEDED, FAILED, DELETED})
ROLES = ("target", "template")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
}


@dataclass
class Job:
    job_id: str
    owner: str
    status: str
    origin: str
    inputs: dict[str, dict[str, str]]
    created_at: str
    updated_at: str
    expires_at: int
    client_reference: str | None = None
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    queued_at: str | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    deadline_at: int | None = None
    provider: str = "ailabtools"
    provider_task_id: str | None = None
    submit_in_flight: bool = False
    polls: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    terminal_event_sent: bool = False
    idempotency_fingerprint: str | None = None
    consent: dict[str, Any] | None = None  # the caller's attestation: {"attested": true, "reference"?}
    input_digests: dict[str, dict[str, str]] | None = None  # role -> {"sha256", "content_type"}
    provenance: dict[str, Any] | None = None  # how the result was labelled (set with the result)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def to_item(self) -> dict[str, Any]:
        return {name: _serializer.serialize(value) for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        plain = {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}
        known = {name: plain[name] for name in cls.__dataclass_fields__ if name in plain}
        return cls(**known)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the rest of the code wants int/float."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list | set):
        return [_plain(inner) for inner in value]
    return value


def new_job(
    *,
    job_id: str,
    owner: str,
    origin: str,
    inputs: dict[str, dict[str, str]],
    status: str,
    client_reference: str | None = None,
    idempotency_fingerprint: str | None = None,
    consent: dict[str, Any] | None = None,
) -> Job:
    now = now_epoch()
    return Job(
        job_id=job_id,
        owner=owner,
        status=status,
        origin=origin,
        inputs=inputs,
        created_at=iso(now),
        updated_at=iso(now),
        expires_at=math.ceil(now + settings().job_record_ttl_days * 86400),
        client_reference=client_reference,
        idempotency_fingerprint=idempotency_fingerprint,
        consent=consent,
    )


class JobStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.table_name = table_name or settings().jobs_table
        self._db = aws_clients.client("dynamodb")

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        response = self._call("get_item", Key={"job_id": {"S": job_id}}, ConsistentRead=True)
        item = response.get("Item")
        return Job.from_item(item) if item else None

    def require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    # -- writes ------------------------------------------------------------------------------------------------
    def create(self, job: Job) -> bool:
        """Insert the job unless one with this id exists; False when it already did (a duplicate request)."""
        try:
            self._call("put_item", Item=job.to_item(), ConditionExpression="attribute_not_exists(job_id)")
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_upload(self, job_id: str, role: str, info: dict[str, Any]) -> Job | None:
        return self._update(
            job_id,
            "SET uploads.#role = :info, updated_at = :now",
            {"#role": role},
            {":info": info, ":waiting": AWAITING_UPLOAD},
            condition="#status = :waiting",
        )

    def mark_queued(self, job_id: str) -> Job | None:
        now = now_epoch()
        return self._update(
            job_id,
            "SET #status = :queued, queued_at = :now, deadline_at = :deadline, updated_at = :now",
            {},
            {
                ":queued": QUEUED,
                ":waiting": AWAITING_UPLOAD,
                ":deadline": math.ceil(now + settings().job_timeout_seconds),
            },
            condition="#status = :waiting",
            now=now,
        )

    def set_deadline(self, job_id: str, deadline_at: int) -> Job | None:
        return self._update(
            job_id,
            "SET deadline_at = :deadline, updated_at = :now",
            {},
            {":deadline": deadline_at, ":queued": QUEUED, ":processing": PROCESSING},
            condition="#status IN (:queued, :processing)",
        )

    def record_input_digests(self, job_id: str, digests: dict[str, dict[str, str]]) -> Job | None:
        return self._update(
            job_id,
            "SET input_digests = :digests, updated_at = :now",
            {},
            {":digests": digests, ":queued": QUEUED, ":processing": PROCESSING},
            condition="#status IN (:queued, :processing)",
        )

    def begin_submit(self, job_id: str) -> Job | None:
        """Set the in-flight marker; None if another attempt holds it, a task id exists, or the job moved on."""
        return self._update(
            job_id,
            "SET submit_in_flight = :true, updated_at = :now",
            {},
            {":true": True, ":false": False, ":queued": QUEUED},
            condition="#status = :queued AND attribute_not_exists(provider_task_id) "
            "AND (attribute_not_exists(submit_in_flight) OR submit_in_flight = :false)",
        )

    def record_submitted(self, job_id: str, task_id: str) -> Job | None:
        return self._update(
            job_id,
            "SET provider_task_id = :task, submitted_at = :now, #status = :processing, submit_in_flight = :false, "
            "updated_at = :now",
            {},
            {":task": task_id, ":processing": PROCESSING, ":false": False, ":queued": QUEUED},
            condition="#status = :queued",
        )

    def clear_submit_marker(self, job_id: str) -> None:
        self._update(job_id, "SET submit_in_flight = :false, updated_at = :now", {}, {":false": False})

    def count_polls(self, job_id: str, polls: int) -> Job | None:
        return self._update(
            job_id,
            "SET polls = if_not_exists(polls, :zero) + :polls, updated_at = :now",
            {},
            {":zero": 0, ":polls": polls},
        )

    def mark_succeeded(
        self, job_id: str, result: dict[str, Any], provenance: dict[str, Any] | None = None
    ) -> Job | None:
        return self._update(
            job_id,
            "SET #status = :succeeded, #result = :result, provenance = :provenance, completed_at = :now, "
            "updated_at = :now",
            {"#result": "result"},
            {":succeeded": SUCCEEDED, ":result": result, ":provenance": provenance, ":processing": PROCESSING},
            condition="#status = :processing",
        )

    def mark_failed(self, job_id: str, error: JobError) -> Job | None:
        return self._update(
            job_id,
            "SET #status = :failed, #error = :error, completed_at = :now, updated_at = :now",
            {"#error": "error"},
            {":failed": FAILED, ":error": error.as_dict(), ":succeeded": SUCCEEDED, ":deleted": DELETED},
            condition="attribute_exists(job_id) AND NOT #status IN (:failed, :succeeded, :deleted)",
        )

    def mark_terminal_event_sent(self, job_id: str) -> None:
        self._update(job_id, "SET terminal_event_sent = :true", {}, {":true": True}, touch=False)

    def mark_deleted(self, job_id: str) -> Job | None:
        return self._update(
            job_id,
            "SET #status = :deleted, updated_at = :now REMOVE #result",
            {"#result": "result"},
            {":deleted": DELETED, ":waiting": AWAITING_UPLOAD, ":succeeded": SUCCEEDED, ":failed": FAILED},
            condition="#status IN (:waiting, :succeeded, :failed)",
        )

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _update(
        self,
        job_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        condition: str | None = None,
        now: float | None = None,
        touch: bool = True,
    ) -> Job | None:
        """Apply an update; the new job, or None when the condition did not hold."""
        names = dict(names)
        values = dict(values)
        if touch:
            values[":now"] = iso(now)
        full_condition = "attribute_exists(job_id)" + (f" AND ({condition})" if condition else "")
        if "#status" in expression or "#status" in full_condition:
            names["#status"] = "status"
        kwargs: dict[str, Any] = {
            "Key": {"job_id": {"S": job_id}},
            "UpdateExpression": expression,
            "ConditionExpression": full_condition,
            "ExpressionAttributeValues": {
                name: _serializer.serialize(value)
                for name, value in values.items()
                if name in expression or name in full_condition
            },
            "ReturnValues": "ALL_NEW",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            response = self._call("update_item", **kwargs)
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return Job.from_item(response["Attributes"])

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._db, operation)(TableName=self.table_name, **kwargs)
        except ClientError as error:
            if _code(error) in _THROTTLING:
                raise StorageTransientError(f"DynamoDB {operation}: {_code(error)}") from error
            raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
