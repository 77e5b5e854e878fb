"""The cost model (transitions from the ASL, inline polling billed apart) and the polling simulation's inline model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import cost_model, polling_sim
from bench.polling_sim import InlinePolling, run_job

ROOT = Path(__file__).resolve().parents[2]


# -- transitions counted from the ASL ----------------------------------------------------------------------------
def _machine(final: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate -> Wait -> Query -> Check (loop) -> Archive [-> final], with a Catch-only failure path."""
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "RecordFailure"}]
    archive: dict[str, Any] = {"Type": "Task", "Resource": "x", "Catch": catch}
    archive.update({"Next": "Done"} if final else {"End": True})
    states: dict[str, Any] = {
        "Validate": {"Type": "Task", "Resource": "x", "Catch": catch, "Next": "Wait"},
        "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Query"},
        "Query": {"Type": "Task", "Resource": "x", "Catch": catch, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.s", "StringEquals": "running", "Next": "Wait"},
                {"Variable": "$.s", "StringEquals": "succeeded", "Next": "Archive"},
            ],
            "Default": "RecordFailure",
        },
        "Archive": archive,
        "RecordFailure": {"Type": "Task", "Resource": "x", "Next": "Failed"},
        "Failed": {"Type": "Fail"},
    }
    if final:
        states["Done"] = final
    return {"StartAt": "Validate", "States": states}


def test_a_workflow_ending_at_its_last_task_saves_one_fixed_transition() -> None:
    assert cost_model.asl_transition_counts(_machine({"Type": "Succeed"})) == (4, 3)  # start, Validate, Archive, Done
    assert cost_model.asl_transition_counts(_machine()) == (3, 3)


def test_a_machine_that_can_only_fail_is_rejected() -> None:
    machine = _machine()
    machine["States"]["Archive"] = {"Type": "Task", "Resource": "x", "Next": "RecordFailure"}
    with pytest.raises(ValueError, match="successful end"):
        cost_model.asl_transition_counts(machine)


def test_the_real_workflow_ends_at_archive_and_loops_through_wait_query_check() -> None:
    asl = json.loads((ROOT / "statemachine" / "face_swap.asl.json").read_text())
    assert cost_model.asl_transition_counts(asl) == (4, 3)
    assert cost_model.success_transitions(2) == 4 + 3 * 2


# -- what scales with what --------------------------------------------------------------------------------------
def test_without_inline_arguments_every_poll_is_an_invocation() -> None:
    old_style = cost_model.cost_per_1000_jobs(polls_per_job=3.0)
    explicit = cost_model.cost_per_1000_jobs(polls_per_job=3.0, query_invocations_per_job=3.0)
    assert old_style.lines == explicit.lines
    assert "Lambda query inline GB-s" not in old_style.lines


def test_inline_polls_cost_nothing_but_their_wait() -> None:
    """Polls inside one Query invocation add no transition, no request and no DynamoDB write (one per invocation)."""
    one = cost_model.cost_per_1000_jobs(polls_per_job=1.0, query_invocations_per_job=1.0)
    five = cost_model.cost_per_1000_jobs(polls_per_job=5.0, query_invocations_per_job=1.0)
    assert {label for label in one.lines if one.lines[label] != five.lines[label]} == set()


def test_invocations_pay_three_transitions_a_request_a_read_and_a_write_each() -> None:
    one = cost_model.cost_per_1000_jobs(polls_per_job=4.0, query_invocations_per_job=1.0)
    two = cost_model.cost_per_1000_jobs(polls_per_job=4.0, query_invocations_per_job=2.0)
    assert two.lines["Step Functions transitions"] - one.lines["Step Functions transitions"] == pytest.approx(
        1000 * 3 * cost_model.SFN_PER_TRANSITION
    )
    assert two.lines["Lambda query requests"] == pytest.approx(2 * one.lines["Lambda query requests"])
    per_write = cost_model.JobRequests().wru_per_write * cost_model.DYNAMODB_PER_WRU * 1000
    assert two.lines["DynamoDB writes"] - one.lines["DynamoDB writes"] == pytest.approx(per_write)
    assert two.lines["DynamoDB reads"] > one.lines["DynamoDB reads"]


def test_inline_seconds_are_billed_at_the_query_functions_memory() -> None:
    memory_mb = cost_model.default_profile(1.0)["query"].memory_mb
    costs = cost_model.cost_per_1000_jobs(polls_per_job=3.0, query_invocations_per_job=1.0, inline_seconds_per_job=12.0)
    expected = 1000 * memory_mb / 1024 * 12.0 * cost_model.LAMBDA_ARM64_PER_GB_SECOND
    assert costs.lines["Lambda query inline GB-s"] == pytest.approx(expected)
    no_wait = cost_model.cost_per_1000_jobs(polls_per_job=3.0, query_invocations_per_job=1.0)
    assert costs.total - no_wait.total == pytest.approx(expected)


def test_measured_transitions_and_profile_replace_the_defaults() -> None:
    # How bench/stack_bench.py calls it: measured transitions and a measured profile.
    profile = cost_model.default_profile(2.0)
    profile["query"] = cost_model.replace(profile["query"], duration_ms=1000, invocations=2.0)
    costs = cost_model.cost_per_1000_jobs(9.0, profile, polls_per_job=2.0)
    assert costs.lines["Step Functions transitions"] == pytest.approx(9000 * cost_model.SFN_PER_TRANSITION)
    assert costs.lines["Lambda query GB-s"] == pytest.approx(
        1000 * profile["query"].memory_mb / 1024 * 2.0 * cost_model.LAMBDA_ARM64_PER_GB_SECOND
    )


def test_memory_comes_from_the_function_or_the_globals(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Globals:\n  Function:\n    MemorySize: 256\nResources:\n"
        "  Query:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/query/\n"
        "      MemorySize: 128\n      Role: !GetAtt QueryRole.Arn\n"
        "  Api:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/api/\n"
    )
    assert cost_model.template_memory_mb(template) == {"query": 128, "api": 256}


def test_the_limit_is_where_the_overhead_reaches_the_target() -> None:
    limit = cost_model.max_invocations_within_target()
    budget = cost_model.OVERHEAD_TARGET * cost_model.PROVIDER_PRICE_PER_SWAP * 1000
    at_limit = cost_model.cost_per_1000_jobs(polls_per_job=limit, query_invocations_per_job=limit)
    assert at_limit.total == pytest.approx(budget, rel=1e-6)
    assert cost_model.max_invocations_within_target(inline_seconds_per_invocation=10.0) < limit


# -- the simulation's inline polling ----------------------------------------------------------------------------
def _constant(first: int, following: int) -> polling_sim.Schedule:
    return (lambda _remaining: first), (lambda _elapsed, _remaining: following)


def test_without_inline_polling_every_poll_is_a_new_invocation() -> None:
    run = run_job(20.0, _constant(10, 3))  # polls at 10.3, 13.6, 16.9, 20.2
    assert (run.polls, run.invocations, run.inline_seconds) == (4, 4, 0.0)
    assert run.latency == pytest.approx(0.2)


def test_inline_polls_stay_in_one_invocation_within_the_budget() -> None:
    # First poll at 10.3; then sleep 3 s + 0.15 s per poll: 13.45, 16.6, 19.75, 22.9 (spent 12.75 s, under 20 s).
    run = run_job(20.0, _constant(10, 3), InlinePolling(budget_seconds=20, max_wait_seconds=6))
    assert (run.polls, run.invocations) == (5, 1)
    assert run.inline_seconds == pytest.approx(22.9 - 10.3)
    assert run.latency == pytest.approx(2.9)
    assert run.after == pytest.approx(19.9)  # what the query step records as "last known running" (t - last wait)


def test_an_exhausted_budget_hands_the_wait_back_to_the_state_machine() -> None:
    # Budget 5 s: one inline poll (spent 0.15 + 3 <= 5), then 3.3 + 3 > 5, so Wait and a new invocation.
    run = run_job(20.0, _constant(10, 3), InlinePolling(budget_seconds=5, max_wait_seconds=6))
    assert run.invocations == 3  # polls at 10.3 | 13.45 ; 16.75, 19.9 ; 23.2
    assert run.polls == 5


def test_waits_above_the_inline_limit_go_to_the_wait_state() -> None:
    run = run_job(30.0, _constant(10, 8), InlinePolling(budget_seconds=40, max_wait_seconds=6))
    assert run.polls == run.invocations


def test_with_the_real_policy_inline_polling_cuts_transitions_not_polls() -> None:
    rng = np.random.default_rng(7)
    warmup, completions = rng.lognormal(np.log(15.0), 0.5, 60), rng.lognormal(np.log(15.0), 0.5, 200)
    plain = polling_sim.simulate(polling_sim.ADAPTIVE, warmup, completions)
    inline = polling_sim.simulate(polling_sim.inline_strategy(20), warmup, completions)
    fixed = polling_sim.simulate(polling_sim.FIXED, warmup, completions)
    assert np.array_equal(fixed.polls, fixed.invocations)
    assert (plain.invocations == plain.polls).all()
    assert inline.invocations_per_job < plain.invocations_per_job
    assert inline.transitions_per_job < plain.transitions_per_job
    assert inline.inline_seconds_per_job > 0
    assert inline.cost.total < plain.cost.total


def test_webhooks_stay_under_two_cents_per_1000_jobs() -> None:
    costs = cost_model.webhook_cost_per_1000_jobs()
    assert 0 < costs.total < cost_model.WEBHOOK_TARGET_PER_1000_JOBS
    dearer = cost_model.webhook_cost_per_1000_jobs(cost_model.WebhookProfile(attempts=5))
    assert dearer.total > costs.total  # retries are paid for
    assert 12 <= cost_model.attempts_until_budget() <= 25  # a day of back-off at the template's defaults
    assert cost_model.owner_index_cost_per_1000_jobs() > 0
