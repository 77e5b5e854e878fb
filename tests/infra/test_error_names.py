"""The workflow's error names against the code: every name in a Retry or Catch is either an error Step Functions or
Lambda documents or the class name of an exception the layer package really raises, and every exception a workflow
step can raise is retried or caught on purpose (a name typo or a new exception class would otherwise fall silently
to `States.ALL` and fail the job INTERNAL_ERROR, or never be retried)."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import faceswap
import pytest
from faceswap.domain.errors import JOB_ERROR_CODES, TransientError
from faceswap.usecases.workflow_steps import error_from_failure

from tests.infra.test_asl import all_states

REPO = Path(__file__).resolve().parents[2]

# Step Functions' own error names (States.*) and the ones its Lambda integration reports (developer guide: "Error
# handling in Step Functions" and "Handle Lambda service exceptions"; Sandbox.Timedout is a function timeout).
DOCUMENTED = {
    "States.ALL",
    "States.Timeout",
    "States.HeartbeatTimeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.DataLimitExceeded",
    "States.Runtime",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
}
# The transient Lambda service errors AWS recommends retrying on every lambda:invoke task.
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}
TASKS = ("Validate", "Submit", "Query", "Archive", "RecordFailure")
# Where a state's Catch sends what its retries did not cure (the recorder itself ends in a Fail state that alarms).
FAILURE_PATH = {"RecordFailure": "FailureNotRecorded"}

# Every exception class of the layer package, and what the workflow does with it.
RETRIED_IN = {  # transient: retried with back-off by these states
    "StorageTransientError": set(TASKS),
    "ProviderTransientError": {"Submit", "Query"},
    "SecretUnavailableError": {"Submit", "Query"},
    "ResultUnavailableError": {"Archive"},
    "EventPublishError": {"Archive", "RecordFailure"},
    "ProvenanceTransientError": {"Archive"},
}
CAUGHT_AS = {  # permanent: Catch -> RecordFailure, which records this job error code
    "JobFailure": "FACE_NOT_FOUND",  # the code it carries (checked with one)
    "ProviderOutcomeUnknown": "PROVIDER_OUTCOME_UNKNOWN",
    "StorageRequestError": "INTERNAL_ERROR",  # AWS refused a request's parameters: retrying cannot help
    "UnknownProviderError": "INTERNAL_ERROR",  # PROVIDER names no adapter: a deployment mistake
}
# Transient, but raised only where a job starts (upload trigger, request listener, API), never by a workflow step:
# the asynchronous invocation retries it (then parks the event in the dead-letter queue); the API answers 429.
RAISED_BEFORE_THE_WORKFLOW = {
    "WorkflowStartThrottledError": "StartExecution throttled",
}
NEVER_LEAVES_A_STEP = {
    "TransientError": "abstract base of the retried errors",
    "ProviderError": "abstract base of the provider errors",
    "ProviderPermanentError": "Submit turns it into JobFailure, Query into a failed poll",
    "InvalidImageError": "Validate turns it into JobFailure",
    "FetchError": "Archive turns it into JobFailure or ResultUnavailableError",
    "ApiError": "HTTP API only: the API handler answers it as a JSON error",
    "PayloadTooLargeError": "webhook function only: the delivery is recorded failed, never sent",
    "InvalidSigningSecretError": "webhook function only: the SQS message is retried, then dead-lettered (alarmed)",
    "LimitExceeded": "API and intake only: answered 429, or recorded as the job's DAILY_QUOTA_EXCEEDED",
    "InvalidConsent": "entry points only: the API answers VALIDATION_ERROR, a request event becomes INVALID_REQUEST",
}


def package_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(faceswap.__path__, "faceswap."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[name] = value
    return found


def constructed_names() -> set[str]:
    """Names called anywhere in the package (`raise X(...)`, `return X(...)`, `X(...)`)."""
    names = set()
    for path in Path(faceswap.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def error_names(state: dict) -> set[str]:
    return {name for rule in state.get("Retry", []) + state.get("Catch", []) for name in rule["ErrorEquals"]}


def explicitly_retried(state: dict) -> set[str]:
    return {name for rule in state.get("Retry", []) for name in rule["ErrorEquals"] if name != "States.ALL"}


def catches_everything(state: dict, state_name: str) -> bool:
    target = FAILURE_PATH.get(state_name, "RecordFailure")
    return any("States.ALL" in rule["ErrorEquals"] and rule["Next"] == target for rule in state["Catch"])


def test_every_error_name_is_documented_or_raised_by_the_code(asl):
    exceptions = package_exceptions()
    constructed = constructed_names()
    for state_name, state in all_states(asl):
        for name in error_names(state):
            if name in DOCUMENTED:
                continue
            assert name in exceptions, f"{state_name}: {name!r} is neither documented nor an exception class"
            assert name in constructed, f"{state_name}: nothing in the package raises {name}"


def test_every_lambda_task_retries_the_lambda_service_errors_aws_recommends(asl):
    for state_name, state in all_states(asl):
        if state["Type"] == "Task" and "lambda:invoke" in state["Resource"]:
            missing = LAMBDA_SERVICE_ERRORS - explicitly_retried(state)
            assert not missing, f"{state_name} does not retry {sorted(missing)}"


def test_every_exception_class_has_a_deliberate_handling():
    exceptions = package_exceptions()
    decided = set(RETRIED_IN) | set(CAUGHT_AS) | set(NEVER_LEAVES_A_STEP) | set(RAISED_BEFORE_THE_WORKFLOW)
    assert set(exceptions) == decided, (
        f"undecided: {sorted(set(exceptions) - decided)}; gone: {sorted(decided - set(exceptions))}"
    )
    transient = {
        name for name, cls in exceptions.items() if issubclass(cls, TransientError) and cls is not TransientError
    }
    assert transient == set(RETRIED_IN) | set(RAISED_BEFORE_THE_WORKFLOW), (
        "every transient error is retried somewhere, and only those"
    )


@pytest.mark.parametrize("name", sorted(RETRIED_IN))
def test_transient_errors_are_retried_where_they_can_happen_and_recorded_when_retries_run_out(asl, name):
    states = dict(all_states(asl))
    for state_name in RETRIED_IN[name]:
        assert name in explicitly_retried(states[state_name]), f"{state_name} does not retry {name}"
        assert catches_everything(states[state_name], state_name)
    error = error_from_failure({"Error": name, "Cause": json.dumps({"errorMessage": "x", "errorType": name})})
    assert error.code in JOB_ERROR_CODES


def test_no_state_retries_an_error_its_step_cannot_raise(asl):
    for state_name, state in all_states(asl):
        for name in explicitly_retried(state) - DOCUMENTED:
            assert state_name in RETRIED_IN.get(name, set()), f"{state_name} retries {name}, which it never raises"


@pytest.mark.parametrize("name", sorted(CAUGHT_AS))
def test_permanent_errors_reach_the_failure_recorder_with_their_code(asl, name):
    for state_name in TASKS[:-1]:
        state = dict(all_states(asl))[state_name]
        assert name not in explicitly_retried(state), f"{state_name} retries the permanent {name}"
        assert catches_everything(state, state_name)
    message = f"{CAUGHT_AS[name]}: details" if name == "JobFailure" else "details"
    cause = json.dumps({"errorMessage": message, "errorType": name})
    assert error_from_failure({"Error": name, "Cause": cause}).code == CAUGHT_AS[name]


def test_secret_and_provider_transients_are_recorded_as_provider_unavailable():
    for name in ("ProviderTransientError", "SecretUnavailableError"):
        assert error_from_failure({"Error": name, "Cause": "{}"}).code == "PROVIDER_UNAVAILABLE"


def test_the_pair_watch_names_only_real_errors_and_retries_the_lambda_service_errors():
    definition = json.loads((REPO / "statemachine" / "inbox_pair_watch.asl.json").read_text(encoding="utf-8"))
    exceptions, constructed = package_exceptions(), constructed_names()
    for state_name, state in definition["States"].items():
        for name in error_names(state) - DOCUMENTED:
            assert name in exceptions and name in constructed, f"{state_name}: {name!r} is not raised by the code"
        if state["Type"] == "Task":
            missing = LAMBDA_SERVICE_ERRORS - explicitly_retried(state)
            assert not missing, f"{state_name} does not retry {sorted(missing)}"
