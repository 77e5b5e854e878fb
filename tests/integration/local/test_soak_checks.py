"""The soak's invariants as functions of plain data: each passes on a clean run and names what breaks it."""

from __future__ import annotations

from faceswap_local.soak import (
    check_at_most_one_submission_per_job,
    check_no_inputs_left,
    check_no_result_for_failed,
    check_none_stuck,
    check_one_terminal_event_per_job,
)

RECORDS = {"a": {"status": "succeeded"}, "b": {"status": "failed"}, "c": {"status": "deleted"}}


def _event(job_id: str, kind: str) -> dict:
    return {"detail-type": f"FaceSwap {kind}", "detail": {"job_id": job_id}}


def test_none_stuck():
    assert check_none_stuck({"a": {"status": "succeeded"}, "b": {"status": "failed"}}).ok
    check = check_none_stuck({**RECORDS, "d": {"status": "processing"}})
    assert not check.ok and "d" in check.detail


def test_one_terminal_event_per_job():
    records = {"a": {"status": "succeeded"}, "b": {"status": "failed"}}
    assert check_one_terminal_event_per_job(records, [_event("a", "Succeeded"), _event("b", "Failed")]).ok
    assert not check_one_terminal_event_per_job(records, [_event("a", "Succeeded")]).ok  # b has none
    twice = [_event("a", "Succeeded"), _event("a", "Succeeded"), _event("b", "Failed")]
    assert not check_one_terminal_event_per_job(records, twice).ok
    assert not check_one_terminal_event_per_job(records, [_event("a", "Failed"), _event("b", "Failed")]).ok


def test_no_result_for_a_failed_job():
    assert check_no_result_for_failed(RECORDS, ["results/a.jpg"]).ok
    assert not check_no_result_for_failed(RECORDS, ["results/a.jpg", "results/b.png"]).ok


def test_no_inputs_left_for_failed_or_deleted_jobs():
    assert check_no_inputs_left(RECORDS, ["uploads/a/target", "inbox/x/target.jpg"]).ok
    assert not check_no_inputs_left(RECORDS, ["uploads/b/template"]).ok
    assert not check_no_inputs_left(RECORDS, ["uploads/c/target"]).ok


def test_at_most_one_accepted_submission_per_job():
    jobs = {"a": "sha-a", "b": "sha-b"}
    assert check_at_most_one_submission_per_job(jobs, [{"target_sha256": "sha-a"}]).ok
    assert not check_at_most_one_submission_per_job(jobs, [{"target_sha256": "sha-a"}] * 2).ok
    assert not check_at_most_one_submission_per_job(jobs, [{"target_sha256": "sha-z"}]).ok
