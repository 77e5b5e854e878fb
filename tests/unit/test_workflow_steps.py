"""The workflow steps against moto with a scripted provider: submit-once, polling, deadline, failure recording."""

from __future__ import annotations

import json
import time

import pytest
from faceswap.adapters.job_table import JobStore
from faceswap.config import settings
from faceswap.domain.errors import JobFailure
from faceswap.provider import (
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    QueryResult,
    factory,
)
from faceswap.usecases.swaps import CreateSwapRequest, SwapService
from faceswap.usecases.workflow_steps import Steps, error_from_failure

from tests.unit.conftest import BUCKET, image_bytes
from tests.unit.provider.memory_provider import MemoryProvider, MemorySwapService

ALICE = "iam:arn:aws:iam::123456789012:user/alice"


class ScriptedProvider:
    """Answers submit/query from scripts; counts what reached it."""

    name = "scripted"

    def __init__(self, submits: list, queries: list | None = None) -> None:
        self.submits, self.queries = list(submits), list(queries or [])
        self.submit_calls = 0
        self.query_calls = 0

    def submit(self, target, template):
        self.submit_calls += 1
        assert target.content_type == "image/jpeg" and template.filename.startswith("template.")
        outcome = self.submits.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return type("Submitted", (), {"task_id": outcome})()

    def query(self, task_id):
        self.query_calls += 1
        outcome = self.queries.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def queued_job(fake_aws) -> str:
    job_id = SwapService().create(ALICE, CreateSwapRequest(), None)[0]["job_id"]
    for role in ("target", "template"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/{role}", Body=image_bytes())
    JobStore().mark_queued(job_id)
    return job_id


def use(monkeypatch, provider: ScriptedProvider) -> ScriptedProvider:
    monkeypatch.setitem(factory.PROVIDERS, "scripted", lambda config: provider)
    monkeypatch.setenv("PROVIDER", "scripted")
    settings.cache_clear()  # a new sandbox with this configuration
    return provider


def transient(code="EXCEEDING_LIMITS"):
    return ProviderTransientError(code, "busy", http_status=429)


def test_validate_returns_the_deadline(queued_job):
    assert Steps().validate(queued_job)["deadline_at"] == JobStore().get(queued_job).deadline_at


def test_validate_rejects_a_bad_image_before_any_credit_is_spent(fake_aws, queued_job, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider([]))
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{queued_job}/template", Body=b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(JobFailure) as failure:
        Steps().validate(queued_job)
    assert failure.value.error.code == "IMAGE_DECODE_FAILED" and provider.submit_calls == 0


def test_submit_is_never_repeated_once_a_task_exists(queued_job, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider(["task-1"]))
    first = Steps().submit(queued_job)
    again = Steps().submit(queued_job)
    assert provider.submit_calls == 1 and first["status"] == again["status"] == "running"
    job = JobStore().get(queued_job)
    assert (
        job.provider == "scripted"
        and job.provider_task_id == "task-1"
        and job.status == "processing"
        and not job.submit_in_flight
    )


def test_a_refused_submit_can_be_retried(queued_job, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider([transient(), "task-2"]))
    with pytest.raises(ProviderTransientError):
        Steps().submit(queued_job)
    assert not JobStore().get(queued_job).submit_in_flight
    Steps().submit(queued_job)
    assert provider.submit_calls == 2 and JobStore().get(queued_job).provider_task_id == "task-2"


def test_an_accepted_but_lost_submit_is_never_sent_again(queued_job, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider([ProviderOutcomeUnknown("READ_TIMEOUT", "no answer"), "task-x"]))
    for _ in range(3):
        with pytest.raises(JobFailure) as failure:
            Steps().submit(queued_job)
        assert failure.value.error.code == "PROVIDER_OUTCOME_UNKNOWN"
    assert provider.submit_calls == 1


def test_a_submit_whose_own_marker_write_was_answered_condition_failed_still_submits_once(queued_job, monkeypatch):
    # DynamoDB applied the marker write but the answer was lost; the SDK's retry of the same write then failed its
    # condition. The attempt must recognise its own marker, not fail the job as if a rival attempt held it.
    provider = use(monkeypatch, ScriptedProvider(["task-own"]))
    original = JobStore.begin_submit

    def applied_then_condition_failed(self, job_id, attempt):
        original(self, job_id, attempt)
        return None

    monkeypatch.setattr(JobStore, "begin_submit", applied_then_condition_failed)
    assert Steps().submit(queued_job)["status"] == "running"
    job = JobStore().get(queued_job)
    assert provider.submit_calls == 1 and job.provider_task_id == "task-own" and job.status == "processing"


def test_a_marker_held_by_another_submit_attempt_is_a_conflict_and_nothing_is_sent(queued_job, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider(["task-twice"]))
    original = JobStore.begin_submit

    def rival_first(self, job_id, attempt):
        original(self, job_id, "rival-attempt")  # a concurrent attempt set the marker just before this one
        return original(self, job_id, attempt)

    monkeypatch.setattr(JobStore, "begin_submit", rival_first)
    with pytest.raises(JobFailure) as failure:
        Steps().submit(queued_job)
    assert failure.value.error.code == "PROVIDER_OUTCOME_UNKNOWN" and provider.submit_calls == 0


def test_permanent_submit_errors_fail_with_the_mapped_code(queued_job, monkeypatch):
    error = ProviderPermanentError(
        "ERROR_NOT_ENOUGH_CREDITS", "no credits", http_status=429, job_error_code="PROVIDER_NO_CREDITS"
    )
    use(monkeypatch, ScriptedProvider([error]))
    with pytest.raises(JobFailure) as failure:
        Steps().submit(queued_job)
    assert failure.value.error.code == error.job_error_code == "PROVIDER_NO_CREDITS"


class KeyReadingProvider(ScriptedProvider):
    """Reads the API key the way the real client does: from the factory's secret reader, when it calls."""

    def __init__(self, submits: list, key: str | None) -> None:
        super().__init__(submits)
        self.keys: list[str] = []
        self.key = key

    def submit(self, target, template):
        self.keys.append(self.key if self.key is not None else factory.api_key())
        return super().submit(target, template)


def with_secret(monkeypatch, fake_aws, provider: KeyReadingProvider, **secret) -> str:
    """The real secret reader against a secret in moto; the provider double is built with the key it is given."""
    import boto3

    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="provider-key", **secret)["ARN"]
    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_ARN", arn)

    def build(config):
        provider.key = factory.api_key()  # what the real builder does before anything is sent
        return provider

    monkeypatch.setitem(factory.PROVIDERS, "ailabtools", build)
    monkeypatch.setenv("PROVIDER", "ailabtools")
    settings.cache_clear()  # a new sandbox with this configuration
    return arn


@pytest.mark.parametrize("secret", [{}, {"SecretString": "   "}], ids=["secret-without-value", "empty-secret"])
def test_a_missing_api_key_fails_the_job_auth_failed_without_marking_a_submit(
    queued_job, monkeypatch, fake_aws, secret
):
    provider = KeyReadingProvider(["task-1"], key=None)
    with_secret(monkeypatch, fake_aws, provider, **secret)
    with pytest.raises(JobFailure) as failure:
        Steps().submit(queued_job)
    assert failure.value.error.code == "PROVIDER_AUTH_FAILED"
    assert "put it into" in failure.value.error.message
    assert provider.submit_calls == 0
    assert not JobStore().get(queued_job).submit_in_flight  # a later attempt (once the key is stored) may submit


def test_a_throttled_secret_read_is_retried_and_the_submit_then_goes_out_once(queued_job, monkeypatch, fake_aws):
    from botocore.stub import Stubber
    from faceswap.adapters import aws_clients
    from faceswap.domain.errors import SecretUnavailableError, TransientError

    provider = KeyReadingProvider(["task-1"], key=None)
    with_secret(monkeypatch, fake_aws, provider, SecretString="the-key")
    with Stubber(aws_clients.client("secretsmanager")) as stub:
        stub.add_client_error("get_secret_value", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(SecretUnavailableError) as error:
            Steps().submit(queued_job)
    assert isinstance(error.value, TransientError)
    assert provider.submit_calls == 0 and not JobStore().get(queued_job).submit_in_flight
    Steps().submit(queued_job)  # the state machine's retry
    assert provider.submit_calls == 1 and provider.keys == ["the-key"]
    assert JobStore().get(queued_job).provider_task_id == "task-1"


def test_secret_reads_that_cannot_be_retried_stay_errors(fake_aws, monkeypatch):
    from botocore.stub import Stubber
    from faceswap.adapters import aws_clients

    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
    with Stubber(aws_clients.client("secretsmanager")) as stub:
        stub.add_client_error("get_secret_value", service_error_code="AccessDeniedException", http_status_code=400)
        with pytest.raises(Exception) as error:
            factory.api_key()
    assert type(error.value).__name__ == "GetParameterError"


def test_query_reports_running_then_succeeded_and_counts_polls(queued_job, monkeypatch):
    use(
        monkeypatch,
        ScriptedProvider(
            ["task-1"],
            [
                QueryResult(state="queued", result_url=None, request_id="r"),
                QueryResult(state="succeeded", result_url="https://example.com/r.jpg", request_id="r"),
            ],
        ),
    )
    Steps().submit(queued_job)
    running = Steps().query(queued_job)
    assert running["status"] == "running" and running["next_wait_seconds"] >= 2 and running["polls"] == 1
    done = Steps().query(queued_job)
    assert done == {
        "status": "succeeded",
        "polls": 2,
        "next_wait_seconds": 0,
        "result_url": "https://example.com/r.jpg",
        "error": None,
        "inline_seconds": done["inline_seconds"],
    }


def test_query_past_the_deadline_times_out(queued_job, monkeypatch, fake_aws):
    use(monkeypatch, ScriptedProvider(["task-1"], [QueryResult(state="processing", result_url=None, request_id="")]))
    Steps().submit(queued_job)
    fake_aws.dynamodb.update_item(
        TableName="faceswap-jobs",
        Key={"job_id": {"S": queued_job}},
        UpdateExpression="SET deadline_at = :d",
        ExpressionAttributeValues={":d": {"N": "1"}},
    )
    poll = Steps().query(queued_job)
    assert poll["status"] == "timed_out" and poll["error"]["code"] == "JOB_TIMED_OUT"


def test_provider_task_failure_is_a_poll_failure(queued_job, monkeypatch):
    face = ProviderPermanentError(
        "ERROR_NO_FACE_IN_FILE", "pic not has face", http_status=422, job_error_code="FACE_NOT_FOUND"
    )
    use(monkeypatch, ScriptedProvider(["task-1"], [face]))
    Steps().submit(queued_job)
    poll = Steps().query(queued_job)
    assert poll["status"] == "failed" and poll["error"]["code"] == "FACE_NOT_FOUND"


def test_record_failure_marks_failed_once_and_emits_one_event(queued_job, fake_aws):
    cause = json.dumps({"errorType": "JobFailure", "errorMessage": "IMAGE_TOO_LARGE: The target image is 6 MB"})
    for _ in range(3):
        Steps().record_failure(queued_job, {"Error": "JobFailure", "Cause": cause})
    job = JobStore().get(queued_job)
    assert job.status == "failed" and job.error == {"code": "IMAGE_TOO_LARGE", "message": "The target image is 6 MB"}
    events = fake_aws.emitted_events()
    assert len(events) == 1 and events[0]["detail"]["status"] == "failed"


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"code": "JOB_TIMED_OUT", "message": "late"}, "JOB_TIMED_OUT"),
        ({"Error": "ProviderTransientError", "Cause": "{}"}, "PROVIDER_UNAVAILABLE"),
        ({"Error": "ResultUnavailableError", "Cause": "not json"}, "RESULT_UNAVAILABLE"),
        ({"Error": "States.Timeout", "Cause": ""}, "INTERNAL_ERROR"),
        ({"Error": "JobFailure", "Cause": json.dumps({"errorMessage": "NOT_A_CODE: x"})}, "INTERNAL_ERROR"),
        ({}, "INTERNAL_ERROR"),
    ],
)
def test_error_from_failure_maps_every_shape(failure, code):
    assert error_from_failure(failure).code == code


def test_a_finished_task_teaches_the_policy_the_providers_latency(queued_job, monkeypatch, fake_aws):
    use(
        monkeypatch,
        ScriptedProvider(
            ["task-1"], [QueryResult(state="succeeded", result_url="https://example.com/r.jpg", request_id="r")]
        ),
    )
    Steps().submit(queued_job)
    Steps().query(queued_job, last_wait_seconds=4)
    item = fake_aws.dynamodb.get_item(TableName="faceswap-jobs", Key={"job_id": {"S": "__stats__#provider_latency"}})
    assert "Item" in item and "owner" not in item["Item"]


def test_short_waits_happen_inside_one_query_invocation(queued_job, monkeypatch):
    monkeypatch.setenv("POLL_INLINE_SECONDS", "20")
    monkeypatch.setenv("POLL_EXPECTED_SECONDS", "5")
    sleeps: list[float] = []
    monkeypatch.setattr("faceswap.usecases.workflow_steps.time.sleep", sleeps.append)
    running = QueryResult(state="processing", result_url=None, request_id="")
    provider = use(
        monkeypatch,
        ScriptedProvider(
            ["task-1"],
            [running, running, QueryResult(state="succeeded", result_url="https://example.com/r.jpg", request_id="")],
        ),
    )
    Steps().submit(queued_job)
    poll = Steps().query(queued_job, last_wait_seconds=4)
    assert poll["status"] == "succeeded" and poll["polls"] == 3 and provider.query_calls == 3
    assert len(sleeps) == 2 and all(2 <= wait <= 6 for wait in sleeps)


def test_inline_waiting_stops_at_its_budget_and_when_the_lambda_is_short_of_time(queued_job, monkeypatch):
    monkeypatch.setenv("POLL_INLINE_SECONDS", "20")
    monkeypatch.setattr("faceswap.usecases.workflow_steps.time.sleep", lambda seconds: None)
    running = QueryResult(state="processing", result_url=None, request_id="")
    provider = use(monkeypatch, ScriptedProvider(["task-1"], [running] * 20))
    Steps().submit(queued_job)
    short_of_time = Steps().query(queued_job, remaining_ms=lambda: 10_000)
    assert short_of_time["status"] == "running" and provider.query_calls == 1
    monkeypatch.setenv("POLL_INLINE_SECONDS", "0")
    settings.cache_clear()  # a new sandbox with this configuration
    assert Steps().query(queued_job)["status"] == "running" and provider.query_calls == 2


def test_record_failure_deletes_both_input_photos(queued_job, fake_aws):
    Steps().record_failure(queued_job, {"code": "FACE_NOT_FOUND", "message": "no face"})
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"uploads/{queued_job}/").get("KeyCount") == 0
    # Idempotent: a repeated step finds nothing left to delete and does not fail.
    Steps().record_failure(queued_job, {"code": "FACE_NOT_FOUND", "message": "no face"})


def test_a_result_stored_by_an_archive_attempt_that_died_is_removed_when_the_job_fails(queued_job, fake_aws):
    # Archive put the result, then its sandbox died before marking the job succeeded; the retries ran out.
    fake_aws.s3.put_object(Bucket=BUCKET, Key=f"results/{queued_job}.jpg", Body=image_bytes())
    Steps().record_failure(queued_job, {"code": "RESULT_EXPIRED", "message": "gone"})
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0
    assert JobStore().require(queued_job).status == "failed"


def test_delete_objects_partial_failures_are_not_silent(fake_aws, monkeypatch):
    from faceswap.adapters.storage import Storage
    from faceswap.domain.errors import StorageTransientError

    storage = Storage(BUCKET)
    monkeypatch.setattr(
        storage._s3, "delete_objects", lambda **_: {"Errors": [{"Key": "uploads/x/target", "Code": "SlowDown"}]}
    )
    with pytest.raises(StorageTransientError, match="SlowDown"):
        storage.delete(["uploads/x/target"])


class TricklingResult:
    """A result URL on 127.0.0.1 that sends a PNG one byte every 0.1 s (a slow but healthy download)."""

    def __init__(self, body_bytes: int = 60) -> None:
        import http.server
        import threading

        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = b"\x89PNG\r\n\x1a\n" + b"\0" * body_bytes
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for index in range(len(body)):
                        self.wfile.write(body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/result.png"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def processing_job(queued_job, monkeypatch) -> str:
    monkeypatch.setenv("ALLOW_INSECURE_RESULT_URLS", "true")
    settings.cache_clear()  # a new sandbox with this configuration
    JobStore().record_submitted(queued_job, "ailabtools", "task-1")
    return queued_job


def lambda_clock(budget_ms: int):
    """A Lambda context's get_remaining_time_in_millis, counting down in real time from `budget_ms`."""
    started = time.monotonic()
    return lambda: int(budget_ms - (time.monotonic() - started) * 1000)


def test_archive_leaves_time_to_store_record_and_announce(processing_job, monkeypatch, fake_aws):
    from faceswap.domain.errors import ResultUnavailableError
    from faceswap.usecases import workflow_steps

    monkeypatch.setattr(workflow_steps, "ARCHIVE_MIN_DOWNLOAD_SECONDS", 0.5)
    server = TricklingResult()
    try:
        remaining = lambda_clock(int((workflow_steps.ARCHIVE_RESERVE_SECONDS + 1.5) * 1000))
        started = time.monotonic()
        with pytest.raises(ResultUnavailableError):  # retried by the state machine in a fresh invocation
            Steps().archive(processing_job, server.url, remaining)
        assert time.monotonic() - started < 3.0, "the download ran past its budget"
        assert remaining() / 1000 > workflow_steps.ARCHIVE_RESERVE_SECONDS - 1.5
    finally:
        server.close()
    assert JobStore().get(processing_job).status == "processing"
    assert "Contents" not in fake_aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")


def test_archive_starts_no_download_without_time_for_one(processing_job, fake_aws):
    from faceswap.domain.errors import ResultUnavailableError

    server = TricklingResult()
    try:
        with pytest.raises(ResultUnavailableError, match="fresh invocation"):
            Steps().archive(processing_job, server.url, lambda_clock(21_000))
    finally:
        server.close()
    assert server.requests == 0


def test_archive_with_time_to_spare_stores_the_whole_result(processing_job, fake_aws, monkeypatch):
    monkeypatch.setenv("PROVENANCE_MODE", "off")  # the trickled body is no image; labelling has its own tests
    settings.cache_clear()  # a new sandbox with this configuration
    server = TricklingResult(body_bytes=4)
    try:
        outcome = Steps().archive(processing_job, server.url, lambda_clock(60_000))
    finally:
        server.close()
    assert outcome["status"] == "succeeded" and outcome["result"]["size"] == 12


def test_query_retries_a_throttled_secret_read_and_fails_auth_without_a_key(processing_job, monkeypatch, fake_aws):
    """Query reads the key through the real client: a throttle is the retried error, no key a recorded failure."""
    import boto3
    from botocore.stub import Stubber
    from faceswap.adapters import aws_clients
    from faceswap.domain.errors import SecretUnavailableError

    monkeypatch.setenv("PROVIDER_BASE_URL", "http://127.0.0.1:9")  # never reached: the key read comes first
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="no-value-yet")["ARN"]
    monkeypatch.setenv("PROVIDER_API_KEY_SECRET_ARN", arn)
    settings.cache_clear()  # a new sandbox with this configuration
    with Stubber(aws_clients.client("secretsmanager")) as stub:
        stub.add_client_error("get_secret_value", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(SecretUnavailableError):
            Steps().query(processing_job)
    poll = Steps().query(processing_job)
    assert poll["status"] == "failed" and poll["error"]["code"] == "PROVIDER_AUTH_FAILED"


def test_a_job_runs_through_the_workflow_on_the_second_provider(fake_aws, monkeypatch):
    service = MemorySwapService()
    monkeypatch.setitem(factory.PROVIDERS, "memory", lambda config: MemoryProvider(service, "memory-key"))
    monkeypatch.setenv("PROVIDER", "memory")
    job_id = SwapService().create("iam:arn:aws:iam::123456789012:user/alice", CreateSwapRequest(), None)[0]["job_id"]
    for role in ("target", "template"):
        fake_aws.s3.put_object(Bucket=BUCKET, Key=f"uploads/{job_id}/{role}", Body=image_bytes())
    JobStore().mark_queued(job_id)
    assert JobStore().require(job_id).provider == "memory"  # named at creation by the configuration

    steps = Steps()
    steps.validate(job_id)
    assert steps.submit(job_id)["status"] == "running"
    monkeypatch.setenv("PROVIDER", "ailabtools")  # a job keeps asking the provider it was sent to
    polls = [steps.query(job_id) for _ in range(3)]

    assert polls[-1]["status"] == "succeeded"
    assert polls[-1]["result_url"] == f"https://memory.example.test/{JobStore().require(job_id).provider_task_id}.jpg"
    assert JobStore().require(job_id).provider == "memory"
