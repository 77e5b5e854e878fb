"""Fixes and adjustments to moto 5.2.5 internals (all private APIs; see tests/integration/local/test_moto_canary.py).

- moto's server answers CORS for any origin on every service; S3 must follow the bucket's CORS rules only;
- (in workers.py) every Lambda invocation runs in the function's worker processes instead of Docker;
- time scaling of Wait states and Retry back-off (never hands fractional seconds to moto's own wait loop);
- G2: StartExecution without a name gets a UUID, as on AWS;
- G3: EventBridge rules with Lambda or Step Functions targets deliver instead of raising NotImplementedError;
- Step Functions sees a function whose runtime died mid-invocation (``Runtime.ExitError``: killed, out of memory) as
  ``Lambda.Unknown``, as on AWS ("unhandled errors in Lambda are reported as Lambda.Unknown"); moto passes the
  payload's errorType through, so a state machine retrying Lambda.Unknown never saw the crash as retryable;
- S3 notifications and EventBridge targets invoke Lambda asynchronously (invocation type Event, with Lambda's
  retries of a failed asynchronous invocation), so an uploader or a PutEvents caller never waits for the consumer.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.s3 import notifications as s3_notifications
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS

# Lambda error types of a runtime that died mid-invocation; Step Functions reports them as Lambda.Unknown.
RUNTIME_DEATHS = frozenset({"Runtime.ExitError", "Runtime.OutOfMemory"})

# Lambda retries a failed asynchronous invocation twice, about one and then two minutes later.
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)


class PatchSet:
    """setattr with a memory: ``restore`` puts every original back, newest first."""

    def __init__(self) -> None:
        self._originals: list[tuple[object, str, object]] = []

    def set(self, target: object, name: str, value: object) -> None:
        self._originals.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def restore(self) -> None:
        while self._originals:
            target, name, original = self._originals.pop()
            setattr(target, name, original)


class Clock:
    """Scaled sleeping for the interpreter; records what the definition asked for (unscaled seconds)."""

    def __init__(self, scale: float, shutdown: threading.Event) -> None:
        self.scale = scale
        self.shutdown = shutdown
        self.waits: list[float] = []
        self.retry_sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds * scale``; returns early at shutdown so no thread outlives the cloud."""
        if seconds > 0 and self.scale > 0:
            self.shutdown.wait(seconds * self.scale)

    def install(self, patches: PatchSet) -> None:
        clock = self

        def _wait_interval(self: WaitFunction, env: Any, wait_seconds: float) -> None:
            clock.waits.append(wait_seconds)
            deadline = time.monotonic() + max(0.0, wait_seconds) * clock.scale
            # StopExecution pulses program_state_event, so the wait stays interruptible.
            while env.is_running() and not clock.shutdown.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                env.program_state_event.wait(min(remaining, 0.5))

        def _retry_sleep(seconds: float) -> None:
            clock.retry_sleeps.append(seconds)
            clock.sleep(seconds)

        patches.set(WaitFunction, "_wait_interval", _wait_interval)
        # retrier_decl only uses time.sleep; keep the rest of the time module behind it.
        patches.set(retrier_decl, "time", types.SimpleNamespace(**{**vars(time), "sleep": _retry_sleep}))


@dataclass(frozen=True)
class AsyncConfig:
    """A function's EventInvokeConfig: how often Lambda retries, and the SQS queue that gets what still failed."""

    maximum_retry_attempts: int = 2
    on_failure_queue_arn: str | None = None


class AsyncInvoker:
    """Asynchronous Lambda invocations (S3 notifications, EventBridge targets) on tracked daemon threads."""

    def __init__(self, clock: Clock, retry_delays: tuple[float, ...] = ASYNC_RETRY_DELAYS_SECONDS) -> None:
        self._clock = clock
        self._retry_delays = retry_delays
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.configs: dict[str, AsyncConfig] = {}  # function ARN -> its EventInvokeConfig
        self.send_to_queue: Callable[[str, dict[str, Any]], None] | None = None  # (queue ARN, message body)

    def invoke(self, account_id: str, function_arn: str, event: Any) -> None:
        thread = threading.Thread(
            target=self._run, args=(account_id, function_arn, event), name="local-async-invoke", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _run(self, account_id: str, function_arn: str, event: Any) -> None:
        region = function_arn.split(":")[3]
        body = json.dumps(event)
        config = self.configs.get(function_arn, AsyncConfig())
        attempts, result = 0, None
        for delay in (0.0, *self._retry_delays[: config.maximum_retry_attempts]):
            self._clock.sleep(delay)
            if self._clock.shutdown.is_set():
                return
            headers: dict[str, str] = {}
            attempts += 1
            try:
                function = get_lambda_backend(account_id, region).get_function(function_arn)
                result = function.invoke(body, {"x-amz-invocation-type": "Event"}, headers)
            except Exception:  # an async invocation has nobody to report to (as moto's own code)
                return
            if "x-amz-function-error" not in headers:
                return
        if config.on_failure_queue_arn and self.send_to_queue is not None:
            self.send_to_queue(config.on_failure_queue_arn, _failure_record(function_arn, event, attempts, result))

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _failure_record(function_arn: str, event: Any, attempts: int, result: Any) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": json.loads(result) if isinstance(result, (str, bytes)) and result else None,
    }


def install_async_s3_notifications(patches: PatchSet, invoker: AsyncInvoker) -> None:
    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        invoker.invoke(account_id, fn_arn, event_body)

    patches.set(s3_notifications, "_invoke_awslambda", _invoke_awslambda)


def install_bucket_cors_only(patches: PatchSet) -> None:
    """Without flask-cors on every service, a browser sees exactly the CORS rules the template puts on the bucket."""
    from moto.moto_server import werkzeug_app

    patches.set(werkzeug_app, "DISABLE_GLOBAL_CORS", True)


def install_unnamed_executions(patches: PatchSet) -> None:
    """G2: with the interpreter on, an unnamed StartExecution would reuse the ARN ``...:None``."""
    original: Callable[..., Any] = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    patches.set(StepFunctionsParserBackend, "start_execution", start_execution)


def install_lambda_unknown_for_runtime_deaths(patches: PatchSet) -> None:
    original = StateTaskServiceLambda._from_error

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, lambda_eval_utils.LambdaFunctionErrorException):
            try:
                payload = json.loads(ex.payload)
            except ValueError:
                payload = None
            if isinstance(payload, dict) and payload.get("errorType") in RUNTIME_DEATHS:
                cause = json.dumps({**payload, "errorType": "Lambda.Unknown"})
                ex = lambda_eval_utils.LambdaFunctionErrorException(ex.function_error, cause)
        return original(self, env, ex)

    patches.set(StateTaskServiceLambda, "_from_error", _from_error)


def install_complete_event_envelopes(patches: PatchSet) -> None:
    """moto 5.2.5 drops `account` from the envelopes it delivers to SQS (and other) targets; EventBridge sends it."""

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        patches.set(
            EventTemplateParser,
            "DEFAULT_EVENT_INPUT_TEMPLATE",
            template.replace('"version": "0",', '"version": "0", "account": "<account>",'),
        )


def install_eventbridge_targets(patches: PatchSet, invoker: AsyncInvoker) -> None:
    """G3: deliver to Lambda and Step Functions targets; moto raises NotImplementedError for them."""
    original: Callable[..., None] = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
        ours = [t for t in self.targets if t["Arn"].split(":")[2] in ("lambda", "states")]
        if len(ours) < len(self.targets):
            others = copy.copy(self)
            others.targets = [t for t in self.targets if t not in ours]
            original(others, original_event, transform_input)
        if not ours or not self.event_pattern.matches_event(original_event):
            return
        for target in ours:
            event = _target_input(target, copy.deepcopy(original_event), transform_input)
            arn: str = target["Arn"]
            if arn.split(":")[2] == "lambda":
                invoker.invoke(self.account_id, arn, event)
            else:
                from moto.stepfunctions.responses import get_backend as get_sfn_backend

                backend = get_sfn_backend(self.account_id, arn.split(":")[3])
                backend.start_execution(
                    state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=json.dumps(event)
                )

    patches.set(Rule, "send_to_targets", send_to_targets)


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    if isinstance(event.get("time"), (int, float)):  # moto keeps epoch seconds until delivery
        event["time"] = datetime.fromtimestamp(float(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not transform_input:
        return event
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    return event


def join_interpreter_threads(timeout: float) -> list[threading.Thread]:
    """Join moto's execution threads; returns those still alive. Also drops finished ones (moto never does)."""
    deadline = time.monotonic() + timeout
    for thread in list(TMP_THREADS):
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in TMP_THREADS if t.is_alive()]
    TMP_THREADS[:] = alive
    return alive
