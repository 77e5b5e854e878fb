"""Duplicates, lost responses, crashes and deadlines on the whole local stack: each must end as one job, one provider
submission and one terminal event. Every test uses photos of its own, so the emulator's
per-task input hashes tell exactly how many submissions the provider accepted for that job."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from faceswap.domain.clock import parse_iso
from faceswap_local.soak import (
    SandboxCrash,
    UniquePhotos,
    restore_function_environment,
    set_function_environment,
)

from tests.e2e.conftest import E2E, Caller, assert_valid_event, upload

TERMINAL = ("FaceSwap Succeeded", "FaceSwap Failed")
_PHOTO_INDEX = itertools.count(5000)  # module-wide: no two jobs of this file share a photo


@dataclass
class ArmedCrash:
    """Crashes the first attempt of a function for the job ids armed in it (an invoke hook stays installed for the
    package's stack, so it must be harmless for every other job)."""

    function: str
    armed: set[str] = field(default_factory=set)
    crashed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, function: str, event: dict[str, Any], attempt: int) -> None:
        job_id = event.get("job_id") if isinstance(event, dict) else None
        with self.lock:
            if function != self.function or job_id not in self.armed or attempt != 1:
                return
            self.armed.discard(job_id)
            self.crashed.append(job_id)
        raise SandboxCrash(f"injected crash of {function} before it ran")


@pytest.fixture(scope="module")
def submit_crash(e2e: E2E) -> ArmedCrash:
    hook = ArmedCrash("SubmitFunction")
    e2e.stack.cloud.add_invoke_hook(hook)
    return hook


class Photos:
    """Unique photos per job (a few pixels differ), so provider tasks map to jobs by their target's sha256."""

    def __init__(self, e2e: E2E) -> None:
        self._unique = UniquePhotos(e2e.photos["grace_hopper"], e2e.photos["astronaut"])
        self.target_sha256: dict[str, str] = {}

    def create_and_upload(self, e2e: E2E, before_upload: Any = None) -> str:
        target, template = self._unique.pair(next(_PHOTO_INDEX))
        created = e2e.alice.create(target_content_type="image/jpeg", template_content_type="image/jpeg")
        job_id = created["job_id"]
        self.target_sha256[job_id] = hashlib.sha256(target).hexdigest()
        if before_upload is not None:
            before_upload(job_id)
        assert upload(created["uploads"]["target"], target).status_code == 204
        assert upload(created["uploads"]["template"], template).status_code == 204
        return job_id

    def tasks_for(self, e2e: E2E, job_id: str) -> list[dict[str, Any]]:
        return [t for t in e2e.emulator.stats()["tasks"] if t["target_sha256"] == self.target_sha256[job_id]]


@pytest.fixture
def photos(e2e: E2E) -> Photos:
    return Photos(e2e)


@pytest.fixture
def function_env(e2e: E2E) -> Iterator[Any]:
    """Set deployed functions' environment variables for one test, restored afterwards."""
    saved: list[dict[str, dict[str, str | None]]] = []

    def apply(variables: dict[str, str], functions: tuple[str, ...] | None = None) -> None:
        saved.append(set_function_environment(e2e.stack.cloud, variables, functions))

    yield apply
    for previous in reversed(saved):
        restore_function_environment(e2e.stack.cloud, previous)


def terminal_events(e2e: E2E, job_id: str) -> list[dict[str, Any]]:
    return [e for e in e2e.events_for(job_id) if e["detail-type"] in TERMINAL]


def executions_named(e2e: E2E, job_id: str) -> int:
    sfn = e2e.stack.cloud.client("stepfunctions")
    arn = e2e.stack.cloud.resources["FaceSwapStateMachine"]
    return sum(
        1
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        for execution in page["executions"]
        if execution["name"] == job_id
    )


def assert_one_clean_success(e2e: E2E, photos: Photos, job_id: str) -> dict[str, Any]:
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Succeeded", event["detail"]
    record = e2e.finished(job_id)
    assert record["status"] == "succeeded"
    tasks = photos.tasks_for(e2e, job_id)
    assert len(tasks) == 1 and tasks[0]["task_id"] == record["provider_task_id"]
    assert (
        tasks[0]["result_sha256"] == record["result"]["provider_sha256"] == event["detail"]["result"]["provider_sha256"]
    )
    e2e.stack.events.poll()
    assert len(terminal_events(e2e, job_id)) == 1
    assert executions_named(e2e, job_id) == 1
    return record


def test_same_s3_event_ten_times_at_once(e2e: E2E, photos: Photos):
    job_id = photos.create_and_upload(e2e)
    notifications = [
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Post",
                    "s3": {"bucket": {"name": e2e.stack.bucket}, "object": {"key": f"uploads/{job_id}/{role}"}},
                }
            ]
        }
        for role in ("target", "template")
    ]
    with ThreadPoolExecutor(max_workers=10) as pool:  # ten redeliveries of each, concurrently
        list(pool.map(lambda n: e2e.stack.cloud.invoke("UploadTriggerFunction", n), notifications * 10))
    assert_one_clean_success(e2e, photos, job_id)


def test_concurrent_start_calls(e2e: E2E, photos: Photos):
    job_id = photos.create_and_upload(e2e)
    barrier = threading.Barrier(8)

    def start(_: int) -> int:
        barrier.wait()
        return e2e.alice.request("POST", f"/v1/swaps/{job_id}/start").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(start, range(8)))
    assert set(statuses) == {202}, statuses
    assert_one_clean_success(e2e, photos, job_id)


def test_one_idempotency_key_from_many_threads(e2e: E2E, photos: Photos):
    headers = {"Idempotency-Key": "faults-checkout-77"}
    body = {
        "target_content_type": "image/jpeg",
        "template_content_type": "image/jpeg",
        "client_reference": "faults-idempotency",
    }
    barrier = threading.Barrier(8)

    def create(_: int) -> Any:
        barrier.wait()
        return e2e.alice.request("POST", "/v1/swaps", json=body, headers=dict(headers))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    job_ids = {r.json()["job_id"] for r in responses}
    assert len(job_ids) == 1
    job_id = job_ids.pop()
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    items = e2e.stack.cloud.client("dynamodb").scan(
        TableName=e2e.stack.table,
        FilterExpression="client_reference = :ref",
        ExpressionAttributeValues={":ref": {"S": "faults-idempotency"}},
    )["Items"]
    assert [item["job_id"]["S"] for item in items] == [job_id]

    target, template = UniquePhotos(e2e.photos["grace_hopper"], e2e.photos["astronaut"]).pair(next(_PHOTO_INDEX))
    photos.target_sha256[job_id] = hashlib.sha256(target).hexdigest()
    forms = responses[-1].json()["uploads"]  # a replayed answer's forms work like the first one's
    assert upload(forms["target"], target).status_code == 204
    assert upload(forms["template"], template).status_code == 204
    assert_one_clean_success(e2e, photos, job_id)


def test_lost_submit_response_is_never_resent(e2e: E2E, photos: Photos, function_env: Any):
    # The provider accepts (and charges) but the answer never arrives within our read timeout.
    function_env({"PROVIDER_READ_TIMEOUT": "0.5"}, ("SubmitFunction",))
    e2e.emulator.faults.add("submit", "accept_then_timeout", times=1, seconds=1.5)
    submits_before = e2e.emulator.stats()["requests"].get("submit", 0)
    job_id = photos.create_and_upload(e2e)
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Failed"
    assert event["detail"]["error"]["code"] == "PROVIDER_OUTCOME_UNKNOWN"
    assert_valid_event(event)
    record = e2e.finished(job_id)
    assert record["status"] == "failed" and record["error"]["code"] == "PROVIDER_OUTCOME_UNKNOWN"
    assert record["submit_in_flight"] is True and not record.get("provider_task_id")
    assert len(photos.tasks_for(e2e, job_id)) == 1  # accepted exactly once: the charge we cannot avoid
    assert e2e.emulator.stats()["requests"]["submit"] - submits_before == 1  # and never sent again
    assert len(terminal_events(e2e, job_id)) == 1


def test_submit_crash_before_the_provider_call_is_retried_once(e2e: E2E, photos: Photos, submit_crash: ArmedCrash):
    job_id = photos.create_and_upload(e2e, before_upload=submit_crash.armed.add)
    assert_one_clean_success(e2e, photos, job_id)
    assert submit_crash.crashed == [job_id]
    submits = [
        r for r in e2e.stack.cloud.invocations if r.function == "SubmitFunction" and r.event == {"job_id": job_id}
    ]
    assert [r.errored for r in submits] == [True, False]
    assert submits[0].payload["errorType"] == "Lambda.Unknown"
    errors = [
        e["taskFailedEventDetails"]["error"]
        for e in e2e.stack.cloud.execution_history(job_id)
        if e["type"] == "TaskFailed"
    ]
    assert errors == ["Lambda.Unknown"]  # Step Functions saw the sandbox crash and retried it by name


def test_task_that_never_finishes_times_out_at_the_deadline(e2e: E2E, photos: Photos, function_env: Any):
    # New sandboxes start with this setting; their cold starts come out of the job's time, so leave room for polls.
    function_env({"JOB_TIMEOUT_SECONDS": "5"})
    e2e.emulator.faults.add("submit", "never_finish", times=1)
    job_id = photos.create_and_upload(e2e)
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Failed" and event["detail"]["error"]["code"] == "JOB_TIMED_OUT"
    assert_valid_event(event)
    record = e2e.finished(job_id)
    assert record["status"] == "failed" and record["error"]["code"] == "JOB_TIMED_OUT"
    assert parse_iso(record["completed_at"]) >= record["deadline_at"]  # not before the deadline
    assert record["polls"] >= 2
    assert len(photos.tasks_for(e2e, job_id)) == 1 and photos.tasks_for(e2e, job_id)[0]["state"] == "processing"
    assert len(terminal_events(e2e, job_id)) == 1
    assert e2e.stack.cloud.wait_execution(job_id, 10)["status"] == "FAILED"


def test_face_error_in_a_200_query_answer_fails_the_job_promptly_with_its_code(e2e: E2E, photos: Photos):
    # HTTP 200, error_code 0, error_detail.code naming the face error, no task_status: not an outage.
    e2e.emulator.faults.add("query", "error_in_200", times=1, code="ERROR_NO_FACE_IN_FILE")
    job_id = photos.create_and_upload(e2e)
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Failed"
    assert event["detail"]["error"]["code"] == "FACE_NOT_FOUND"
    assert_valid_event(event)
    queries = [
        r for r in e2e.stack.cloud.invocations if r.function == "QueryFunction" and r.event.get("job_id") == job_id
    ]
    assert len(queries) == 1 and not queries[0].errored  # no retries of the Query step
    assert len(photos.tasks_for(e2e, job_id)) == 1
    assert len(terminal_events(e2e, job_id)) == 1


def test_submit_answered_by_a_proxy_502_after_acceptance_is_never_resent(e2e: E2E, photos: Photos):
    e2e.emulator.faults.add("submit", "accept_then_502", times=1)
    submits_before = e2e.emulator.stats()["requests"].get("submit", 0)
    job_id = photos.create_and_upload(e2e)
    event = e2e.terminal_event(job_id)
    assert event["detail"]["error"]["code"] == "PROVIDER_OUTCOME_UNKNOWN"
    assert len(photos.tasks_for(e2e, job_id)) == 1  # the one charge a proxy's 502 can hide
    assert e2e.emulator.stats()["requests"]["submit"] - submits_before == 1


def test_non_ascii_task_id_is_archived(e2e: E2E, photos: Photos):
    e2e.emulator.faults.add("submit", "non_ascii_task_id", times=1)
    job_id = photos.create_and_upload(e2e)
    record = assert_one_clean_success(e2e, photos, job_id)
    assert not record["provider_task_id"].isascii()
    _, metadata = e2e.s3_object(record["result"]["key"])
    assert metadata["provider-task-id"].startswith("=?UTF-8?B?")  # S3 metadata is ASCII-only


def test_result_url_that_sends_headers_then_stalls_is_dropped_at_the_download_deadline(
    e2e: E2E, photos: Photos, function_env: Any
):
    function_env({"RESULT_DOWNLOAD_SECONDS": "0.5"}, ("ArchiveFunction",))
    e2e.emulator.faults.add("result", "headers_then_stall", times=1, seconds=8)
    job_id = photos.create_and_upload(e2e)
    started = time.monotonic()
    assert_one_clean_success(e2e, photos, job_id)  # the retried attempt got the result
    # The stalled attempt gave up at its 0.5 s deadline, not when the host closed after 8 s.
    assert time.monotonic() - started < 6
    archives = [
        r for r in e2e.stack.cloud.invocations if r.function == "ArchiveFunction" and r.event.get("job_id") == job_id
    ]
    assert [r.errored for r in archives] == [True, False]
    assert archives[0].payload["errorType"] == "ResultUnavailableError"


def test_fifty_concurrent_creates_by_one_caller_make_at_most_the_active_limit(e2e: E2E, function_env: Any):
    function_env({"MAX_ACTIVE_JOBS_PER_CALLER": "5"}, ("ApiFunction",))
    caller = Caller(e2e.stack.api_url, e2e.stack.auth.mint("limits-e2e"))
    barrier = threading.Barrier(8)  # as many at once as the local gateway's listen backlog takes

    def create(index: int) -> Any:
        if index < 8:
            barrier.wait()
        return caller.request("POST", "/v1/swaps", json={})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(50)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 5, statuses
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 45
    assert {r.json()["error"]["code"] for r in refused} == {"TOO_MANY_ACTIVE_JOBS"}
    assert {r.headers["Retry-After"] for r in refused} == {"30"}
    created = next(r.json()["job_id"] for r in responses if r.status_code == 201)
    assert caller.request("DELETE", f"/v1/swaps/{created}").status_code == 200
    assert caller.request("POST", "/v1/swaps", json={}).status_code == 201  # the deleted job's slot is free


def test_a_drop_zone_photo_whose_partner_never_arrives_fails_incomplete(e2e: E2E, function_env: Any):
    from faceswap.domain import ids

    watch_arn = e2e.stack.cloud.resources["InboxPairWatchStateMachine"]
    function_env({"INBOX_PAIR_WATCH_ARN": watch_arn}, ("UploadTriggerFunction",))
    s3 = e2e.stack.cloud.client("s3")
    key = "inbox/never-paired/template.png"
    etag = s3.put_object(Bucket=e2e.stack.bucket, Key=key, Body=e2e.photos["astronaut"])["ETag"].strip('"')
    job_id = ids.job_id_for_incomplete_pair(e2e.stack.bucket, key, etag)
    event = e2e.terminal_event(job_id)
    assert event["detail-type"] == "FaceSwap Failed"
    assert event["detail"]["error"]["code"] == "INPUT_INCOMPLETE"
    assert event["detail"]["inputs"]["target"] is None
    assert_valid_event(event)
    assert len(terminal_events(e2e, job_id)) == 1
