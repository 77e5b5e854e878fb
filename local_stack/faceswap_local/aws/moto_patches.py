"""Fixes and adjustments to moto 5.2.5 internals (all private APIs; see tests/integration/local/test_moto_canary.py).

- time scaling of Wait states and Retry back-off (never hands fractional seconds to moto's own wait loop);
- G2: StartExecution without a name gets a UUID, as on AWS;
- G3: EventBridge rules with Lambda or Step Functions targets deliver instead of raising NotImplementedError;
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
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.s3 import notifications as s3_notifications
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS

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


class AsyncInvoker:
    """Asynchronous Lambda invocations (S3 notifications, EventBridge targets) on tracked daemon threads."""

    def __init__(self, clock: Clock, retry_delays: tuple[float, ...] = ASYNC_RETRY_DELAYS_SECONDS) -> None:
        self._clock = clock
        self._retry_delays = retry_delays
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

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
        for delay in (0.0, *self._retry_delays):
            self._clock.sleep(delay)
            if self._clock.shutdown.is_set():
                return
            headers: dict[str, str] = {}
            try:
                function = get_lambda_backend(account_id, region).get_function(function_arn)
                function.invoke(body, {"x-amz-invocation-type": "Event"}, headers)
            except Exception:  # an async invocation has nobody to report to (as moto's own code)
                return
            if "x-amz-function-error" not in headers:
                return

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def install_async_s3_notifications(patches: PatchSet, invoker: AsyncInvoker) -> None:
    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        invoker.invoke(account_id, fn_arn, event_body)

    patches.set(s3_notifications, "_invoke_awslambda", _invoke_awslambda)


def install_unnamed_executions(patches: PatchSet) -> None:
    """G2: with the interpreter on, an unnamed StartExecution would reuse the ARN ``...:None``."""
    original: Callable[..., Any] = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    patches.set(StepFunctionsParserBackend, "start_execution", start_execution)


def install_complete_event_envelopes(patches: PatchSet) -> None:
    """moto 5.2.5 drops `account` from the envelopes it delivers to SQS (and other) targets; EventBridge sends it."""
    from moto.events.utils import EventTemplateParser

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
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
    return event


def join_interpreter_threads(timeout: float) -> list[threading.Thread]:
    """Join moto's execution threads; returns those still alive. Also drops finished ones (moto never does)."""
    deadline = time.monotonic() + timeout
    for thread in list(TMP_THREADS):
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in TMP_THREADS if t.is_alive()]
    TMP_THREADS[:] = alive
    return alive
