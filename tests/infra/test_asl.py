"""Static checks of statemachine/face_swap.asl.json that neither cfn-lint nor moto make (dangling transitions,
missing Retry/Catch, literal "$.x" strings passed to a Lambda, undefined substitutions)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.infra.conftest import ASL

SELECTOR_FIELDS = ("Parameters", "ResultSelector", "ItemSelector")
JSONATA_ONLY_FIELDS = {"Arguments", "Output", "Assign", "Condition", "Items"}
# "$", "$.x", "$$.Execution.Id", "$['x']": a JSONPath. "${Name}" is a DefinitionSubstitutions placeholder instead.
JSONPATH = re.compile(r"^\$(\$|\.|\[|$)")


def state_machines(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The definition and every nested one (Parallel branches, Map iterators/processors)."""
    yield definition
    for state in definition["States"].values():
        for branch in state.get("Branches", []):
            yield from state_machines(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from state_machines(state[key])


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for machine in state_machines(definition):
        yield from machine["States"].items()


def transitions(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [state["Default"]] if "Default" in state else []
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every dict entry, recursively."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def test_every_transition_target_exists(asl):
    for machine in state_machines(asl):
        names = set(machine["States"])
        assert machine["StartAt"] in names
        for name, state in machine["States"].items():
            missing = [target for target in transitions(state) if target not in names]
            assert missing == [], f"{name} -> {missing}"


def test_every_state_is_reachable_and_moves_on(asl):
    for machine in state_machines(asl):
        states = machine["States"]
        reached, frontier = set(), [machine["StartAt"]]
        while frontier:
            name = frontier.pop()
            if name not in reached:
                reached.add(name)
                frontier += transitions(states[name])
        assert reached == set(states), f"unreachable: {set(states) - reached}"
        for name, state in states.items():
            if state["Type"] not in {"Choice", "Succeed", "Fail"}:
                assert ("Next" in state) != bool(state.get("End")), f"{name} needs exactly one of Next/End"


def test_every_choice_has_a_default(asl):
    """An unmatched Choice fails the execution with States.NoChoiceMatched, skipping the failure recorder."""
    for name, state in all_states(asl):
        if state["Type"] == "Choice":
            assert "Default" in state, name


def test_every_task_retries_and_catches(asl):
    tasks = [(name, state) for name, state in all_states(asl) if state["Type"] == "Task"]
    assert tasks
    for name, state in tasks:
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"
        for retrier in state["Retry"]:
            assert retrier["ErrorEquals"], name


def test_lambda_service_errors_are_retried(asl):
    for name, state in all_states(asl):
        if state["Type"] == "Task" and "lambda" in str(state.get("Resource", "")):
            retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
            assert (
                "States.ALL" in retried or {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried
            ), name


def test_jsonpath_only(asl):
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"
    for name, state in all_states(asl):
        assert state.get("QueryLanguage", "JSONPath") == "JSONPath", name
        assert not JSONATA_ONLY_FIELDS & set(state), f"{name} uses JSONata/Variables fields"
    assert "{%" not in ASL.read_text(encoding="utf-8"), "JSONata expression"


def test_dynamic_values_use_dollar_suffixed_keys(asl):
    for name, state in all_states(asl):
        for field in SELECTOR_FIELDS:
            for path, key, value in walk(state.get(field, {}), f"{name}.{field}"):
                if isinstance(value, str) and JSONPATH.match(value) and not key.endswith(".$"):
                    raise AssertionError(f"{path}/{key} = {value!r} is passed literally; the key must end in .$")
                if key.endswith(".$"):
                    assert isinstance(value, str) and (JSONPATH.match(value) or value.startswith("States.")), (
                        f"{path}/{key} must hold a path or an intrinsic function"
                    )


def test_wait_duration_comes_from_the_query_step(asl):
    assert any(state["Type"] == "Wait" and "SecondsPath" in state for _, state in all_states(asl))


def test_placeholders_match_definition_substitutions(sam_template):
    text = ASL.read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    substitutions = set(sam_template["Resources"]["FaceSwapStateMachine"]["Properties"]["DefinitionSubstitutions"])
    assert placeholders <= substitutions, f"undefined: {placeholders - substitutions}"
    assert substitutions <= placeholders, f"unused: {substitutions - placeholders}"
    json.loads(text)  # still valid JSON with the placeholders in place (they sit inside strings)
