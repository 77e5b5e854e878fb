"""Per-caller and deployment-wide job limits against moto: atomic under concurrency, healed when jobs end."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from faceswap.adapters.job_table import JobStore
from faceswap.adapters.usage_limits import seconds_until_next_utc_day
from faceswap.domain.errors import ApiError, JobError
from faceswap.usecases.intake import Intake
from faceswap.usecases.job_endings import fail_job
from faceswap.usecases.swaps import CreateSwapRequest, SwapService

from tests.unit.conftest import BUCKET, image_bytes

ALICE = "iam:arn:aws:iam::123456789012:user/alice"
BOB = "iam:arn:aws:iam::123456789012:user/bob"


def create(owner: str = ALICE, key: str | None = None) -> dict:
    return SwapService().create(owner, CreateSwapRequest(), key)[0]


def test_fifty_concurrent_creates_never_overshoot_the_active_limit(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_CALLER", "10")
    barrier = threading.Barrier(50)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            create()
        except ApiError as error:
            assert error.headers["Retry-After"] == "30"
            return error.code
        return "created"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("created") == 10, outcomes
    assert set(outcomes) <= {"created", "TOO_MANY_ACTIVE_JOBS", "THROTTLED"}
    assert outcomes.count("TOO_MANY_ACTIVE_JOBS") >= 30
    jobs = fake_aws.dynamodb.scan(TableName="faceswap-jobs")["Items"]
    assert len(jobs) == 10  # a refused create leaves nothing behind
    create(BOB)  # another caller is not affected


def test_a_job_that_ended_frees_its_slot(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_CALLER", "2")
    first, _ = create(), create()
    with pytest.raises(ApiError) as caught:
        create()
    assert caught.value.code == "TOO_MANY_ACTIVE_JOBS" and caught.value.status == 429
    fail_job(JobStore(), first["job_id"], JobError("FACE_NOT_FOUND", "no face"))
    create()  # the failed job no longer counts
    with pytest.raises(ApiError):
        create()


def test_delete_frees_the_slot_at_once(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_CALLER", "1")
    job = create()
    SwapService().delete(ALICE, job["job_id"])
    create()


def test_jobs_whose_upload_forms_expired_unused_do_not_count(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_CALLER", "1")
    monkeypatch.setenv("UPLOAD_URL_EXPIRES_SECONDS", "60")
    create()
    import faceswap.adapters.usage_limits as limits

    real_now = limits.now_epoch
    monkeypatch.setattr(limits, "now_epoch", lambda: real_now() + 121)
    create()


def test_daily_quota_with_retry_after_until_utc_midnight(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_JOBS_PER_CALLER_PER_DAY", "3")
    for _ in range(3):
        SwapService().delete(ALICE, create()["job_id"])  # deleting does not give the day's quota back
    with pytest.raises(ApiError) as caught:
        create()
    assert caught.value.code == "DAILY_QUOTA_EXCEEDED" and caught.value.status == 429
    assert 0 < int(caught.value.headers["Retry-After"]) <= 86_400
    assert "3 jobs" in caught.value.message


def test_an_idempotent_replay_spends_no_quota(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_JOBS_PER_CALLER_PER_DAY", "1")
    first = create(key="checkout-1")
    assert create(key="checkout-1")["job_id"] == first["job_id"]


def test_seconds_until_next_utc_day():
    assert seconds_until_next_utc_day(86_400 * 10) == 86_400
    assert seconds_until_next_utc_day(86_400 * 10 + 86_399.5) == 1


def test_drop_zone_and_eventbridge_share_a_deployment_limit_with_a_failure_event(fake_aws, monkeypatch):
    monkeypatch.setenv("MAX_EVENT_JOBS_PER_DAY", "1")
    outcomes = []
    for name in ("a", "b"):
        for role in ("target", "template"):
            fake_aws.s3.put_object(Bucket=BUCKET, Key=f"inbox/{name}/{role}.jpg", Body=image_bytes())
        outcomes.append(Intake().handle_object(BUCKET, f"inbox/{name}/template.jpg"))
    assert [o.action for o in outcomes] == ["started", "rejected"]
    assert outcomes[1].error_code == "DAILY_QUOTA_EXCEEDED"
    assert len(fake_aws.executions()) == 1
    failed = [e for e in fake_aws.emitted_events() if e["detail-type"] == "FaceSwap Failed"]
    assert [e["detail"]["error"]["code"] for e in failed] == ["DAILY_QUOTA_EXCEEDED"]
