"""The jobs table: the single source of truth for a job's status. Every transition is a conditional write, so
duplicate deliveries and concurrent steps can never move a job backwards or past a terminal state."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, ParamValidationError

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.domain.clock import iso, now_epoch
from faceswap.domain.errors import JobError, StorageRequestError, StorageTransientError
from faceswap.domain.job import AWAITING_UPLOAD, DELETED, FAILED, PROCESSING, QUEUED, SUCCEEDED, Job

OWNER_INDEX = "owner-created_at"  # GSI: partition owner, sort created_at (template.yaml)
_MAX_LIST_QUERIES = 8  # bounds one listing call however many deleted jobs it has to skip

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


def job_to_item(job: Job) -> dict[str, Any]:
    """The job as a DynamoDB item (absent fields are left out, not stored as NULL)."""
    return {name: _serializer.serialize(value) for name, value in asdict(job).items() if value is not None}


def job_from_item(item: dict[str, Any]) -> Job:
    plain = {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}
    known = {field.name: plain[field.name] for field in fields(Job) if field.name in plain}
    return Job(**known)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the rest of the code wants int/float."""
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
    webhook: dict[str, Any] | None = None,
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
        webhook=webhook,
        provider=settings().provider_name,
    )


class JobStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.table_name = table_name or settings().jobs_table
        self._db = aws_clients.client("dynamodb")

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        response = self._call("get_item", Key={"job_id": {"S": job_id}}, ConsistentRead=True)
        item = response.get("Item")
        return job_from_item(item) if item else None

    def require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    # -- writes ------------------------------------------------------------------------------------------------
    def create(self, job: Job) -> bool:
        """Insert the job unless one with this id exists; False when it already did (a duplicate request)."""
        try:
            self._call("put_item", Item=job_to_item(job), ConditionExpression="attribute_not_exists(job_id)")
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_upload(self, job_id: str, role: str, info: dict[str, Any]) -> Job | None:
        return self._update(
            job_id,
            {f"uploads.{role}": info},
            condition="#status = :waiting",
            values={":waiting": AWAITING_UPLOAD},
        )

    def mark_queued(self, job_id: str) -> Job | None:
        now = now_epoch()
        deadline = math.ceil(now + settings().job_timeout_seconds)
        return self._update(
            job_id,
            {"status": QUEUED, "queued_at": iso(now), "deadline_at": deadline},
            condition="#status = :waiting",
            values={":waiting": AWAITING_UPLOAD},
            now=now,
        )

    def set_deadline(self, job_id: str, deadline_at: int) -> Job | None:
        return self._update(
            job_id,
            {"deadline_at": deadline_at},
            condition="#status IN (:queued, :processing)",
            values={":queued": QUEUED, ":processing": PROCESSING},
        )

    def record_input_digests(self, job_id: str, digests: dict[str, dict[str, str]]) -> Job | None:
        return self._update(
            job_id,
            {"input_digests": digests},
            condition="#status IN (:queued, :processing)",
            values={":queued": QUEUED, ":processing": PROCESSING},
        )

    def begin_submit(self, job_id: str, attempt: str) -> Job | None:
        """Set the in-flight marker for `attempt`; None if the condition failed: another attempt holds it, a task id
        exists, the job moved on, or this very write landed on an earlier try (see `holds_submit`)."""
        return self._update(
            job_id,
            {"submit_in_flight": True, "submit_attempt": attempt},
            condition="#status = :queued AND attribute_not_exists(provider_task_id) "
            "AND (attribute_not_exists(submit_in_flight) OR submit_in_flight = :false)",
            values={":false": False, ":queued": QUEUED},
        )

    def holds_submit(self, job_id: str, attempt: str) -> bool:
        """Whether `attempt` holds the in-flight marker of a job still waiting for its submit."""
        job = self.get(job_id)
        return (
            job is not None
            and job.status == QUEUED
            and job.submit_in_flight
            and job.submit_attempt == attempt
            and not job.provider_task_id
        )

    def record_submitted(self, job_id: str, provider: str, task_id: str) -> Job | None:
        now = now_epoch()
        return self._update(
            job_id,
            {
                "provider": provider,
                "provider_task_id": task_id,
                "submitted_at": iso(now),
                "status": PROCESSING,
                "submit_in_flight": False,
            },
            condition="#status = :queued",
            values={":queued": QUEUED},
            now=now,
        )

    def clear_submit_marker(self, job_id: str) -> None:
        self._update(job_id, {"submit_in_flight": False})

    def count_polls(self, job_id: str, polls: int) -> Job | None:
        # An increment, not an assignment: concurrent invocations must not lose each other's polls.
        return self._update(
            job_id,
            {},
            extra_set="polls = if_not_exists(polls, :zero) + :polls",
            values={":zero": 0, ":polls": polls},
        )

    def mark_succeeded(
        self, job_id: str, result: dict[str, Any], provenance: dict[str, Any] | None = None
    ) -> Job | None:
        now = now_epoch()
        return self._update(
            job_id,
            {"status": SUCCEEDED, "result": result, "provenance": provenance, "completed_at": iso(now)},
            condition="#status = :processing",
            values={":processing": PROCESSING},
            now=now,
        )

    def mark_failed(self, job_id: str, error: JobError) -> Job | None:
        now = now_epoch()
        return self._update(
            job_id,
            {"status": FAILED, "error": error.as_dict(), "completed_at": iso(now)},
            condition="NOT #status IN (:failed, :succeeded, :deleted)",
            values={":failed": FAILED, ":succeeded": SUCCEEDED, ":deleted": DELETED},
            now=now,
        )

    def mark_terminal_event_sent(self, job_id: str) -> None:
        self._update(job_id, {"terminal_event_sent": True}, touch=False)

    def mark_deleted(self, job_id: str) -> Job | None:
        return self._update(
            job_id,
            {"status": DELETED},
            remove=("result",),
            condition="#status IN (:waiting, :succeeded, :failed)",
            values={":waiting": AWAITING_UPLOAD, ":succeeded": SUCCEEDED, ":failed": FAILED},
        )

    # -- listing -----------------------------------------------------------------------------------------------
    def list_owned(
        self, owner: str, *, status: str | None, limit: int, start_key: dict[str, str] | None
    ) -> tuple[list[Job], dict[str, str] | None]:
        """The owner's jobs, newest first, deleted ones left out; plus the key to continue after (None at the end).

        The key is that of the last job returned, so a page never skips an item whatever the filter drops.
        """
        jobs: list[Job] = []
        exclusive = start_key
        condition = "#status <> :deleted" + (" AND #status = :wanted" if status else "")
        values = {":owner": {"S": owner}, ":deleted": {"S": DELETED}}
        if status:
            values[":wanted"] = {"S": status}
        for _ in range(_MAX_LIST_QUERIES):
            kwargs: dict[str, Any] = {
                "IndexName": OWNER_INDEX,
                "KeyConditionExpression": "#owner = :owner",
                "FilterExpression": condition,
                "ExpressionAttributeNames": {"#owner": "owner", "#status": "status"},
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": limit - len(jobs) + 1,  # one more than needed tells whether another page exists
            }
            if exclusive:
                kwargs["ExclusiveStartKey"] = {name: {"S": value} for name, value in exclusive.items()}
            response = self._call("query", **kwargs)
            jobs.extend(job_from_item(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if len(jobs) > limit:
                return jobs[:limit], list_key(jobs[limit - 1])
            if not last:
                return jobs, None
            exclusive = {name: value["S"] for name, value in last.items()}
        return jobs, exclusive

    # -- webhook delivery state --------------------------------------------------------------------------------
    def claim_webhook_delivery(
        self, job_id: str, generation: int, message_id: str, *, now: float | None = None
    ) -> Job | None:
        """Bind this delivery round to one queue message; None for a duplicate message or a superseded round."""
        return self._update_expression(
            job_id,
            "SET #wh.message_id = :mid, #wh.first_attempt_at = if_not_exists(#wh.first_attempt_at, :now)",
            {"#wh": "webhook", "#ws": "status"},
            {":mid": message_id, ":gen": generation, ":pending": "pending"},
            condition="#wh.#ws = :pending AND #wh.generation = :gen "
            "AND (attribute_not_exists(#wh.message_id) OR #wh.message_id = :mid)",
            now=now,
        )

    def record_webhook_attempt(
        self,
        job_id: str,
        generation: int,
        message_id: str,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        attempted_at: str,
        delivered_at: str | None,
    ) -> Job | None:
        return self._update_expression(
            job_id,
            "SET #wh.#ws = :wstatus, #wh.attempts = #wh.attempts + :one, #wh.last_status_code = :code, "
            "#wh.last_error = :err, #wh.last_attempt_at = :at, #wh.delivered_at = :delivered",
            {"#wh": "webhook", "#ws": "status"},
            {
                ":wstatus": status,
                ":one": 1,
                ":code": status_code,
                ":err": error,
                ":at": attempted_at,
                ":delivered": delivered_at,
                ":gen": generation,
                ":mid": message_id,
            },
            condition="#wh.generation = :gen AND #wh.message_id = :mid",
            touch=False,
        )

    def end_webhook_round(self, job_id: str, generation: int, status: str, reason: str) -> Job | None:
        """End a pending round without an attempt (e.g. `disabled`: nothing to send)."""
        return self._update_expression(
            job_id,
            "SET #wh.#ws = :ended, #wh.last_error = :reason",
            {"#wh": "webhook", "#ws": "status"},
            {":ended": status, ":reason": reason, ":gen": generation, ":pending": "pending"},
            condition="#wh.generation = :gen AND #wh.#ws = :pending",
            touch=False,
        )

    def request_webhook_redelivery(self, job_id: str) -> Job | None:
        """Start a new delivery round of a finished job's webhook; None unless the last round has ended."""
        return self._update_expression(
            job_id,
            "SET #wh.#ws = :pending, #wh.generation = #wh.generation + :one, #wh.attempts = :zero, "
            "#wh.delivered_at = :null REMOVE #wh.message_id, #wh.first_attempt_at",
            {"#wh": "webhook", "#ws": "status"},
            {
                ":pending": "pending",
                ":one": 1,
                ":zero": 0,
                ":null": None,
                ":delivered": "delivered",
                ":failedw": "failed",
                ":disabled": "disabled",
                ":succeeded": SUCCEEDED,
                ":failed": FAILED,
            },
            # "#ws" names both the webhook's status and the job's: an expression may use only names it declares.
            condition="#wh.#ws IN (:delivered, :failedw, :disabled) AND #ws IN (:succeeded, :failed)",
            touch=False,
        )

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _update_expression(
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
        """An update written as a DynamoDB expression, for what attribute maps cannot say (arithmetic,
        if_not_exists, REMOVE inside a map). `:now` is the update time when `touch`. The new job, or None when the
        condition did not hold."""
        values = dict(values)
        if touch:
            values[":now"] = iso(now)
        full_condition = "attribute_exists(job_id)" + (f" AND ({condition})" if condition else "")
        used = {name: value for name, value in values.items() if name in expression or name in full_condition}
        if "#status" in expression or "#status" in full_condition:
            names = {**names, "#status": "status"}
        kwargs: dict[str, Any] = {
            "Key": {"job_id": {"S": job_id}},
            "UpdateExpression": expression,
            "ConditionExpression": full_condition,
            "ExpressionAttributeValues": {name: _serializer.serialize(value) for name, value in used.items()},
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        try:
            response = self._call("update_item", **kwargs)
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return job_from_item(response["Attributes"])

    def _update(
        self,
        job_id: str,
        assignments: Mapping[str, Any],
        *,
        remove: tuple[str, ...] = (),
        extra_set: str | None = None,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        now: float | None = None,
        touch: bool = True,
    ) -> Job | None:
        """Set `assignments` (attribute path -> value; dotted paths reach into maps) on an existing job, remove
        `remove`, and also stamp `updated_at` unless `touch` is false. `condition` may use `#status` and the
        placeholders in `values`. The new job, or None when the condition did not hold."""
        expression = update_expression({**assignments, **({"updated_at": iso(now)} if touch else {})}, remove)
        if extra_set:
            expression.set_clauses.append(extra_set)
        full_condition = "attribute_exists(job_id)" + (f" AND ({condition})" if condition else "")
        if set(values or {}) & set(expression.values):
            raise ValueError(f"condition placeholders clash with assignments: {sorted(values or {})}")
        names = dict(expression.names)
        if "#status" in full_condition:
            names["#status"] = "status"
        kwargs: dict[str, Any] = {
            "Key": {"job_id": {"S": job_id}},
            "UpdateExpression": expression.text,
            "ConditionExpression": full_condition,
            "ExpressionAttributeValues": {
                name: _serializer.serialize(value) for name, value in {**expression.values, **(values or {})}.items()
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
        return job_from_item(response["Attributes"])

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._db, operation)(TableName=self.table_name, **kwargs)
        except ClientError as error:
            if _code(error) in _THROTTLING:
                raise StorageTransientError(f"DynamoDB {operation}: {_code(error)}") from error
            raise
        except ParamValidationError as error:
            raise StorageRequestError(f"DynamoDB {operation} refused its parameters: {str(error)[:300]}") from error
        return result


class UpdateExpression:
    """`SET #a = :a, #b.#c = :b_c REMOVE #d`, with a name placeholder for every path segment (so reserved words such
    as status, result and error need no special care) and a value placeholder per assignment."""

    def __init__(self) -> None:
        self.set_clauses: list[str] = []
        self.remove_clauses: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def path(self, attribute: str) -> str:
        placeholders = []
        for segment in attribute.split("."):
            placeholder = "#" + "".join(ch if ch.isalnum() else "_" for ch in segment)
            self.names[placeholder] = segment
            placeholders.append(placeholder)
        return ".".join(placeholders)

    @property
    def text(self) -> str:
        parts = []
        if self.set_clauses:
            parts.append("SET " + ", ".join(self.set_clauses))
        if self.remove_clauses:
            parts.append("REMOVE " + ", ".join(self.remove_clauses))
        return " ".join(parts)


def update_expression(assignments: Mapping[str, Any], remove: tuple[str, ...] = ()) -> UpdateExpression:
    expression = UpdateExpression()
    for attribute, value in assignments.items():
        placeholder = ":set_" + "".join(ch if ch.isalnum() else "_" for ch in attribute)
        expression.set_clauses.append(f"{expression.path(attribute)} = {placeholder}")
        expression.values[placeholder] = value
    expression.remove_clauses.extend(expression.path(attribute) for attribute in remove)
    return expression


def list_key(job: Job) -> dict[str, str]:
    """The index key of a job (table key + index key), from which a listing continues."""
    return {"job_id": job.job_id, "owner": job.owner, "created_at": job.created_at}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
