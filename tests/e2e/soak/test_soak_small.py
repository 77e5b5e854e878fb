"""The reduced soak (40 jobs) in `make test`: random provider faults, AWS-side faults (throttling, lost condition
races, S3 5xx, PutEvents failed entries, an Archive sandbox killed after storing its result) and Lambda crashes, then
every check of `faceswap_local.soak` must hold (none stuck, one terminal event each, results match, never charged
twice)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faceswap_local.aws_faults import FAULTS
from faceswap_local.soak import SoakReport, run_soak


@pytest.fixture(scope="module")
def report(sample_photos: dict[str, Path]) -> SoakReport:
    photos = (sample_photos["grace_hopper"].read_bytes(), sample_photos["astronaut"].read_bytes())
    result = run_soak(
        jobs=40, fault_rate=0.2, seed=11, crash_rate=0.1, concurrency=12, job_timeout_seconds=10, photos=photos
    )
    print(result.render())  # shown with -s, and in the failure report
    return result


@pytest.mark.soak
def test_every_check_holds(report: SoakReport):
    failed = [f"{check.name}: {check.detail}" for check in report.checks if not check.ok]
    assert not failed, report.render()
    assert len(report.checks) == 7


@pytest.mark.soak
def test_faults_and_crashes_were_really_injected(report: SoakReport):
    # A soak without faults proves nothing: the provider and our functions must both have failed on the way.
    assert sum(report.faults_injected.values()) >= 10, report.render()
    assert len(report.faults_injected) >= 5, report.render()
    assert sum(report.lambda_crashes.values()) >= 3, report.render()
    assert report.workflow_retries > 0, report.render()


@pytest.mark.soak
def test_aws_faults_of_every_kind_were_injected_and_survived(report: SoakReport):
    # Every AWS fault kind fired, and an Archive sandbox died between storing a result and marking the job: the
    # checks above held through them, and no job ended with an error that only an unsurvived AWS fault explains.
    # Secrets Manager is read once per sandbox and key cache period, so 40 jobs give it only a handful of chances:
    # requiring that kind here would make the test flaky; tests/integration/local/test_aws_faults.py covers it.
    rare = {"secrets_throttle"}
    assert set(FAULTS) - rare <= set(report.aws_faults_injected) <= set(FAULTS), report.render()
    assert sum(report.aws_faults_injected.values()) >= 50, report.render()
    assert report.killed_after_store >= 2, report.render()
    assert report.error_codes["INTERNAL_ERROR"] == 0, report.render()


@pytest.mark.soak
def test_every_job_accounted_for(report: SoakReport):
    assert sum(report.statuses.values()) == report.jobs == 40
    assert set(report.statuses) <= {"succeeded", "failed"}
    assert sum(report.error_codes.values()) == report.statuses["failed"]
    assert report.statuses["succeeded"] > 0, report.render()  # e.g. a broken engine would fail every job
    assert report.accepted_submissions <= report.jobs
