"""The SDK's `Client` against the fake API over real HTTP on 127.0.0.1: typed results, typed errors, retries of
idempotent calls only, listing across pages, webhook state and redelivery."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faceswap_client import (
    ChecksumMismatch,
    Client,
    Conflict,
    InvalidImage,
    InvalidRequest,
    Job,
    JobFailed,
    NetworkError,
    NotFound,
    RateLimited,
    ResultNotReady,
    RetryPolicy,
    ServerError,
    Unauthenticated,
    ValidationFailed,
    WaitTimeout,
    Webhook,
)
from faceswap_client.transport import parse_retry_after

from tests.integration.client.conftest import WebhookReceiver
from tests.integration.client.fake_faceswap_api import GOOD_TOKEN, OTHER_TOKEN, RESULT_BYTES, FakeServer

SDK = Path(__file__).resolve().parents[3] / "sdk"


class Sleeps(list[float]):
    """Records the retry waits instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(api: FakeServer, sleeps: Sleeps) -> Iterator[Client]:
    with Client(api.url, GOOD_TOKEN, retry=RetryPolicy(sleep=sleeps)) as sdk:
        yield sdk


def api_calls(api: FakeServer, prefix: str = "/v1/") -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in api.state.requests if r["path"].startswith(prefix)]


def test_swap_waits_and_the_download_is_checked(client: Client, api: FakeServer, photos, tmp_path: Path):
    seen: list[str] = []
    job = client.swap(*photos, poll_interval=0.01, on_update=lambda j: seen.append(j.status))
    assert isinstance(job, Job) and job.succeeded and job.finished
    assert seen == ["queued", "processing", "succeeded"]
    assert job.result is not None and job.result.sha256 == hashlib.sha256(RESULT_BYTES).hexdigest()
    assert job.result.size == len(RESULT_BYTES) and job.result.content_type == "image/png"
    assert isinstance(job.created_at, datetime) and job.created_at.tzinfo is not None
    fake = api.state.jobs[job.job_id]
    assert fake.uploads == {"target": photos[0].read_bytes(), "template": photos[1].read_bytes()}
    assert fake.content_types == {"target": "image/jpeg", "template": "image/png"}
    download = client.download(job, tmp_path / "deep" / "result.png")
    assert download.path.read_bytes() == RESULT_BYTES and download.sha256 == job.result.sha256
    assert download.size == len(RESULT_BYTES)


def test_swap_accepts_bytes_and_no_wait_returns_the_started_job(client: Client, api: FakeServer, photos):
    job = client.swap(photos[0].read_bytes(), photos[1].read_bytes(), wait=False, client_reference="order-1")
    assert job.status == "queued" and job.client_reference == "order-1"
    assert api.state.jobs[job.job_id].starts == 1


def test_a_failed_job_raises_job_failed_with_its_code(client: Client, api: FakeServer, photos):
    api.state.behaviour.outcome = "fail"
    with pytest.raises(JobFailed) as failure:
        client.swap(*photos, poll_interval=0.01)
    assert failure.value.code == "FACE_NOT_FOUND" and failure.value.job.failed
    assert failure.value.job.error is not None and "No face" in failure.value.job.error.message
    # wait() itself returns a failed job rather than raising.
    assert client.wait(failure.value.job.job_id).status == "failed"


def test_wait_gives_up_after_its_timeout(client: Client, api: FakeServer, photos):
    api.state.behaviour.outcome = "never_finish"
    job = client.swap(*photos, wait=False)
    with pytest.raises(WaitTimeout) as timeout:
        client.wait(job, timeout=0.2, poll_interval=0.05)
    assert timeout.value.job.status == "processing" and timeout.value.job.job_id == job.job_id
    assert isinstance(timeout.value, TimeoutError)


def test_a_corrupt_download_raises_and_writes_nothing(client: Client, api: FakeServer, photos, tmp_path: Path):
    api.state.behaviour.corrupt_sha256 = True
    job = client.swap(*photos, poll_interval=0.01)
    with pytest.raises(ChecksumMismatch) as mismatch:
        client.download(job, tmp_path / "out" / "r.png")
    assert mismatch.value.expected == "0" * 64
    assert mismatch.value.actual == hashlib.sha256(RESULT_BYTES).hexdigest()
    assert list((tmp_path / "out").iterdir()) == []


def test_download_of_an_unfinished_job_says_so(client: Client, api: FakeServer, photos, tmp_path: Path):
    job = client.swap(*photos, wait=False)
    with pytest.raises(ResultNotReady) as not_ready:
        client.download(job.job_id, tmp_path / "r.png")
    assert not_ready.value.job.status == "processing"


def test_an_expired_result_url_is_renewed_once(client: Client, api: FakeServer, photos, tmp_path: Path):
    api.state.behaviour.expire_first_download = True
    job = client.swap(*photos, poll_interval=0.01)
    client.download(job, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes() == RESULT_BYTES and api.state.downloads == 2


def test_errors_are_typed_and_carry_the_api_code(client: Client, api: FakeServer, photos):
    with pytest.raises(NotFound) as missing:
        client.get("f" * 32)
    assert missing.value.code == "JOB_NOT_FOUND" and missing.value.http_status == 404
    assert str(missing.value).startswith("JOB_NOT_FOUND: no such job")
    with pytest.raises(ValidationFailed) as bad_webhook:
        client.create(webhook="http://example.com/hook")
    assert bad_webhook.value.code == "INVALID_WEBHOOK_URL"
    api.state.behaviour.outcome = "never_finish"
    job = client.swap(*photos, wait=False)
    with pytest.raises(Conflict) as busy:
        client.delete(job)
    assert busy.value.code == "JOB_IN_PROGRESS"
    with Client(api.url, "expired-token") as stranger, pytest.raises(Unauthenticated) as refused:
        stranger.get(job)
    assert refused.value.code is None and refused.value.http_status == 401  # API Gateway's own answer
    with pytest.raises(ValueError, match="not a job id"):
        client.get("../../v1/swaps")


def test_a_bad_image_is_refused_before_any_request(client: Client, api: FakeServer, photos, tmp_path: Path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(InvalidImage, match="not a JPEG or PNG"):
        client.swap(text, photos[1])
    with pytest.raises(InvalidImage, match="no bytes"):
        client.swap(photos[0], b"")
    assert api.state.requests == []


def test_reads_are_retried_with_backoff(client: Client, api: FakeServer, photos, sleeps: Sleeps):
    job = client.swap(*photos, wait=False)
    api.state.behaviour.failures = [(503, {}), (502, {})]
    assert client.get(job).job_id == job.job_id
    assert api_calls(api)[-3:] == [("GET", f"/v1/swaps/{job.job_id}")] * 3
    assert len(sleeps) == 2 and 0.125 <= sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5


def test_retry_after_is_honoured_and_a_long_one_is_raised(client: Client, api: FakeServer, photos, sleeps: Sleeps):
    job = client.swap(*photos, wait=False)
    api.state.behaviour.failures = [(429, {"Retry-After": "2"})]
    client.get(job)
    assert sleeps == [2.0]
    api.state.behaviour.failures = [(429, {"Retry-After": "3600"})]
    with pytest.raises(RateLimited) as limited:
        client.get(job)
    assert limited.value.retry_after == 3600 and limited.value.code == "THROTTLED"
    assert sleeps == [2.0]


def test_retries_stop_after_the_budget(client: Client, api: FakeServer, photos, sleeps: Sleeps):
    job = client.swap(*photos, wait=False)
    before = len(api_calls(api))
    api.state.behaviour.failures = [(500, {})] * 10
    with pytest.raises(ServerError):
        client.get(job)
    assert len(api_calls(api)) - before == 4 and len(sleeps) == 3  # 1 try + 3 retries


def test_a_post_without_idempotency_is_never_resent(client: Client, api: FakeServer, receiver: WebhookReceiver, photos):
    job = client.swap(*photos, webhook=receiver.url, poll_interval=0.01)
    before = len(api_calls(api))
    api.state.behaviour.failures = [(503, {})]
    with pytest.raises(ServerError):
        client.redeliver_webhook(job)
    assert len(api_calls(api)) - before == 1


def test_create_is_retried_with_the_same_idempotency_key(client: Client, api: FakeServer):
    api.state.behaviour.failures = [(502, {})]
    api.state.behaviour.fail_paths = "/v1/swaps"
    created = client.create(target_content_type="image/png")
    creates = [r for r in api.state.requests if r["method"] == "POST" and r["path"] == "/v1/swaps"]
    assert len(creates) == 2
    assert creates[0]["headers"]["Idempotency-Key"] == creates[1]["headers"]["Idempotency-Key"]
    assert list(api.state.jobs) == [created.job_id] and set(created.uploads) == {"target", "template"}
    assert created.uploads["target"].content_type == "image/png"


def test_no_answer_is_one_plain_sentence(photos):
    with FakeServer() as stopped:
        url = stopped.url
    with Client(url, GOOD_TOKEN, retry=RetryPolicy(max_retries=0)) as client, pytest.raises(NetworkError) as error:
        client.get("0" * 32)
    message = str(error.value)
    assert message == f"cannot connect to the API at {url}: the connection was refused (is the server running?)"


def test_list_follows_cursors_newest_first_per_caller(client: Client, api: FakeServer):
    mine = [client.create(client_reference=f"job-{n}").job_id for n in range(45)]
    with Client(api.url, OTHER_TOKEN) as other:
        theirs = [other.create().job_id for _ in range(3)]
        assert [job.job_id for job in other.list()] == theirs[::-1]
    pages = list(client.list(page_size=20).pages())
    assert [len(page.items) for page in pages] == [20, 20, 5]
    assert pages[-1].next_cursor is None and all(page.next_cursor for page in pages[:-1])
    assert [job.job_id for job in client.list(page_size=20)] == mine[::-1]
    resumed = client.list(page_size=20, cursor=pages[0].next_cursor)
    assert [job.job_id for job in resumed] == mine[::-1][20:]
    cursor = pages[0].next_cursor
    assert cursor is not None
    with pytest.raises(InvalidRequest) as tampered:
        client.list_page(cursor=cursor[:-4] + ("AAAA" if not cursor.endswith("AAAA") else "BBBB"))
    assert tampered.value.code == "INVALID_CURSOR"
    with Client(api.url, OTHER_TOKEN) as other, pytest.raises(InvalidRequest):
        other.list_page(cursor=cursor)  # another caller's cursor is not valid for them


def test_list_filters_by_status(client: Client, api: FakeServer, photos):
    awaiting = client.create().job_id
    started = client.swap(*photos, wait=False).job_id
    assert [job.job_id for job in client.list(status="queued")] == [started]
    assert [job.job_id for job in client.list(status="awaiting_upload")] == [awaiting]
    assert list(client.list(status="failed")) == []


def test_webhook_is_delivered_signed_and_can_be_redelivered(client: Client, receiver: WebhookReceiver, photos):
    job = client.swap(*photos, webhook=Webhook(receiver.url, events=["succeeded"]), poll_interval=0.01)
    job = client.get(job)
    assert job.webhook is not None and job.webhook.status == "delivered"
    assert job.webhook.host == receiver.url.split("/")[2] and job.webhook.attempts == 1
    assert job.webhook.last_status_code == 204 and job.webhook.delivered_at is not None
    assert job.webhook.events == ("succeeded",)
    (event,) = receiver.verified
    assert event.type == "faceswap.succeeded" and event.job_id == job.job_id
    assert job.result is not None and event.result_sha256 == job.result.sha256 and event.result_url
    again = client.redeliver_webhook(job)
    assert again.webhook is not None and again.webhook.status == "pending"
    deadline = time.monotonic() + 5
    while len(receiver.verified) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.id for e in receiver.verified] == [event.id, event.id]  # one message: the same webhook-id
    assert receiver.refused == []


def test_redelivery_conflicts_carry_their_codes(client: Client, api: FakeServer, photos):
    plain = client.swap(*photos, poll_interval=0.01)
    with pytest.raises(Conflict) as not_configured:
        client.redeliver_webhook(plain)
    assert not_configured.value.code == "WEBHOOK_NOT_CONFIGURED"
    pending = client.create(webhook="https://hooks.example.com/faceswap")
    assert pending.webhook is not None and pending.webhook.status == "pending"
    with pytest.raises(Conflict) as busy:
        client.redeliver_webhook(pending.job_id)
    assert busy.value.code == "WEBHOOK_DELIVERY_PENDING"


def test_results_tolerate_fields_a_newer_api_adds(client: Client, api: FakeServer):
    provenance = {"c2pa": True, "xmp": True, "watermark": False, "digital_source_type": "trainedAlgorithmicMedia"}
    api.state.behaviour.extra_job_fields = {"provenance": provenance, "something_new": {"x": 1}}
    job = client.get(client.create().job_id)
    assert job.provenance is not None and job.provenance.c2pa and not job.provenance.watermark
    assert job.provenance.digital_source_type == "trainedAlgorithmicMedia" and job.provenance.watermark_payload is None
    assert job.raw["something_new"] == {"x": 1}
    minimal = Job.from_api({"job_id": "a" * 32, "status": "queued", "polls": "x", "created_at": "yesterday"})
    assert minimal.polls == 0 and minimal.created_at is None and minimal.result is None and minimal.webhook is None


def test_default_auth_signs_with_the_aws_credential_chain(api: FakeServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    api.state.behaviour.sigv4_secret = "secret"
    with Client(api.url, region="eu-west-1") as client:
        created = client.create()
        assert client.get(created).job_id == created.job_id
    assert all(r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256") for r in api.state.requests)


def test_the_package_is_typed_and_mypy_strict_clean():
    assert (SDK / "faceswap_client" / "py.typed").exists()
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "faceswap_client"],
        cwd=SDK,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", lambda: now) == 7.0
    assert parse_retry_after("Mon, 04 May 2026 10:00:30 GMT", lambda: now) == 30.0
    assert parse_retry_after("Mon, 04 May 2026 09:00:00 GMT", lambda: now) == 0.0
    assert parse_retry_after("soon", lambda: now) is None and parse_retry_after(None) is None


def test_a_server_that_never_answers_is_a_timeout_sentence():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection into its backlog, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = Client(url, GOOD_TOKEN, timeout=0.3, retry=RetryPolicy(max_retries=0))
        with client, pytest.raises(NetworkError) as error:
            client.get("0" * 32)
    assert str(error.value) == f"cannot connect to the API at {url}: it did not answer within 0.3 s"


def test_step_by_step_create_upload_start_wait(client: Client, api: FakeServer, photos, tmp_path: Path):
    job = client.create(target_content_type="image/jpeg", template_content_type="image/jpeg")
    with pytest.raises(InvalidImage, match="template image: it is image/png but the job was created for image/jpeg"):
        client.upload(job, target=photos[0], template=photos[1])
    assert api.state.upload_parts == []  # nothing was sent: both images are checked first
    job = client.create(target_content_type="image/jpeg", template_content_type="image/png")
    with pytest.raises(Conflict) as early:
        client.start(job)
    assert early.value.code == "UPLOADS_INCOMPLETE"
    client.upload(job, target=photos[0], template=photos[1].read_bytes())
    started = client.start(job.job_id)
    assert started.status == "queued" and started.uploads == {}
    finished = client.wait(started, poll_interval=0.01)
    assert finished.succeeded and client.download(finished, tmp_path / "r.png").size == len(RESULT_BYTES)
