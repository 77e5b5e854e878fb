"""Lambda on local processes: every function gets sandboxes (worker processes) of its own.

A sandbox is started with exactly the function's environment from the template plus the variables Lambda itself sets
and the endpoint settings that point AWS SDKs at the local cloud. It imports the handler once (a cold start, logged
and counted) and runs one invocation at a time; overlapping invocations get more sandboxes, up to a limit. A sandbox
past the function's timeout is killed and the invocation fails with ``Sandbox.Timedout``, as on Lambda.

moto routes every invocation (the Invoke API, Step Functions tasks, S3 notifications, EventBridge targets) through
``LambdaFunction._invoke_lambda``; ``LambdaRuntime.install`` points that one method at the pools.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

from .sandbox import END_OF_INVOCATION

InvokeHook = Callable[[str, dict, int], None]
LogSink = Callable[[str, "dict | str"], None]
SANDBOX = Path(__file__).with_name("sandbox.py")
# -u: unbuffered output, so log lines arrive while the handler runs (Lambda streams them too).
_BOOT = f"import runpy, sys; sys.path[0] = ''; runpy.run_path({str(SANDBOX)!r}, run_name='__main__')"
DEFAULT_MAX_SANDBOXES = 4
INIT_TIMEOUT_SECONDS = 30.0


@dataclass
class FunctionSpec:
    """What the runtime needs to know about one deployed function."""

    logical_id: str
    function_name: str
    arn: str
    code_dir: Path
    handler: str  # "module.function", e.g. "app.lambda_handler"
    environment: dict[str, str]
    timeout: int = 3
    memory_size: int = 128
    runtime: str = "python3.13"
    layer_dirs: list[Path] = field(default_factory=list)


@dataclass
class InvocationRecord:
    function: str  # logical id
    event: Any
    payload: Any  # the handler's return value, or Lambda's error object when errored
    errored: bool
    started: float  # time.time()
    ended: float
    request_id: str = ""
    logs: list[str] = field(default_factory=list)
    cold_start: bool = False


class Sandbox:
    """One worker process of one function."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], on_line: Callable[[str], None]) -> None:
        read_fd, write_fd = os.pipe()
        self.spec = spec
        self.generation = 0
        self.used = False
        self._on_line = on_line
        self._lines: list[str] = []
        self._output_done = threading.Event()
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", _BOOT, spec.handler, str(write_fd)],
            cwd=spec.code_dir,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        self._control = os.fdopen(read_fd, "rb")
        threading.Thread(target=self._read_output, name=f"sandbox-out-{spec.logical_id}", daemon=True).start()
        threading.Thread(target=self._read_control, name=f"sandbox-ctl-{spec.logical_id}", daemon=True).start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith(END_OF_INVOCATION):
                self._output_done.set()
                continue
            self._lines.append(line)
            self._on_line(line)
        self._output_done.set()

    def _read_control(self) -> None:
        with self._control:  # closed here, at end of file: closing it under a blocked reader would deadlock
            for raw in self._control:
                self._messages.put(json.loads(raw))
        self._messages.put(None)  # the process ended

    def _next_message(self, timeout: float) -> dict[str, Any] | None:
        """The sandbox's next message; None if it died, TimeoutError if it said nothing in time."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def _collect_lines(self) -> list[str]:
        self._output_done.wait(timeout=2.0)  # the end marker follows the last line; the result follows the marker
        lines, self._lines = self._lines, []
        self._output_done.clear()
        return lines

    def initialise(self) -> tuple[float | None, dict[str, Any] | None, list[str]]:
        """Wait for the handler import: (init milliseconds, None, lines) or (None, Lambda error payload, lines)."""
        try:
            message = self._next_message(INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            self.kill()
            return None, _error("Runtime.InitTimeout", "the handler import took too long"), self._collect_lines()
        lines = self._collect_lines()
        if message is None:
            return None, _error("Runtime.ExitError", f"exit code {self.process.wait()} during init"), lines
        if message["type"] != "ready":
            return None, message["payload"], lines
        return float(message["init_ms"]), None, lines

    def invoke(self, request: dict[str, Any], timeout: float) -> tuple[str, bool, list[str]]:
        """(payload JSON, errored, log lines); kills the sandbox if the invocation outlives ``timeout``."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            message = self._next_message(timeout)
        except TimeoutError:  # before OSError, its base class
            self.kill()
            text = f"RequestId: {request['request_id']} Error: Task timed out after {timeout:.2f} seconds"
            return json.dumps(_error("Sandbox.Timedout", text)), True, self._collect_lines()
        except OSError:  # the sandbox is gone (broken pipe)
            message = None
        if message is None:
            code = self.process.wait()
            text = f"RequestId: {request['request_id']} Error: Runtime exited with error: exit status {code}"
            return json.dumps(_error("Runtime.ExitError", text)), True, self._collect_lines()
        return message["payload"], bool(message["errored"]), self._collect_lines()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message}


class FunctionPool:
    """The sandboxes of one function: reuse an idle one, start one while under the limit, otherwise wait."""

    def __init__(
        self, spec: FunctionSpec, environment: Callable[[], dict[str, str]], emit: LogSink, max_sandboxes: int
    ) -> None:
        self.spec = spec
        self._environment = environment
        self._emit = emit
        self._max = max_sandboxes
        self._idle: list[Sandbox] = []
        self._count = 0
        self._generation = 0
        self._closed = False
        self._cond = threading.Condition()
        self.cold_starts = 0

    def acquire(self) -> tuple[Sandbox | None, dict[str, Any] | None, list[str]]:
        """A ready sandbox, or (None, init error payload, init log lines)."""
        with self._cond:
            while not self._idle and self._count >= self._max and not self._closed:
                self._cond.wait()
            if self._closed:
                return None, _error("Runtime.Unavailable", "the local cloud is stopping"), []
            if self._idle:
                return self._idle.pop(), None, []
            self._count += 1
            generation = self._generation
        sandbox = Sandbox(self.spec, self._environment(), lambda line: self._emit(self.spec.logical_id, line))
        sandbox.generation = generation
        init_ms, error, lines = sandbox.initialise()
        with self._cond:
            self.cold_starts += 1
        if error is not None:
            self.release(sandbox, healthy=False)
            return None, error, lines
        self._emit(self.spec.logical_id, f"INIT_REPORT Init Duration: {init_ms:.2f} ms Phase: init Status: success")
        return sandbox, None, lines

    def release(self, sandbox: Sandbox, *, healthy: bool) -> None:
        with self._cond:
            keep = healthy and sandbox.alive and not self._closed and sandbox.generation == self._generation
            if keep:
                self._idle.append(sandbox)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            sandbox.kill()

    def retire(self) -> None:
        """New configuration: idle sandboxes go now, busy ones after their invocation (as after an update)."""
        with self._cond:
            self._generation += 1
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for sandbox in idle:
            sandbox.kill()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.retire()


class LambdaRuntime:
    """The deployed functions' pools plus the patched moto entry point that invokes them."""

    def __init__(
        self,
        runtime_environment: dict[str, str],
        log_sink: LogSink | None = None,
        max_sandboxes: int = DEFAULT_MAX_SANDBOXES,
    ) -> None:
        self._runtime_environment = runtime_environment
        self._log_sink = log_sink
        self._max_sandboxes = max_sandboxes
        self._specs: dict[str, FunctionSpec] = {}
        self._pools: dict[str, FunctionPool] = {}
        self._hooks: list[InvokeHook] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._state_lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition(self._state_lock)
        self.invocations: list[InvocationRecord] = []
        self._original_invoke: Callable[..., Any] | None = None

    # registry -------------------------------------------------------------------------------------------------
    def register(self, spec: FunctionSpec) -> None:
        self._specs[spec.function_name] = spec
        self._pools[spec.function_name] = FunctionPool(
            spec, lambda: self.environment(spec), self._emit, self._max_sandboxes
        )

    def pool(self, function_name: str) -> FunctionPool:
        return self._pools[function_name]

    def cold_starts(self) -> dict[str, int]:
        return {pool.spec.logical_id: pool.cold_starts for pool in self._pools.values()}

    def environment(self, spec: FunctionSpec) -> dict[str, str]:
        """Exactly what the sandbox process sees: the function's variables, Lambda's own, the local endpoint."""
        return {
            **self._runtime_environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "PYTHONPATH": os.pathsep.join(str(d) for d in spec.layer_dirs),
            **spec.environment,
        }

    def add_invoke_hook(self, hook: InvokeHook) -> None:
        self._hooks.append(hook)

    # patching -------------------------------------------------------------------------------------------------
    def install(self) -> None:
        runtime = self
        self._original_invoke = LambdaFunction._invoke_lambda

        def _invoke_lambda(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke_moto_function(function, event)

        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original_invoke is not None:
            LambdaFunction._invoke_lambda = self._original_invoke  # type: ignore[method-assign]
            self._original_invoke = None

    def close(self, timeout: float) -> None:
        """Let running invocations finish (up to ``timeout``), then end every sandbox."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
        for pool in self._pools.values():
            pool.close()

    # invocation -----------------------------------------------------------------------------------------------
    def invoke_moto_function(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        spec = self._specs.get(function.function_name)
        if spec is None:
            payload = _error("Runtime.HandlerNotFound", f"{function.function_name} is not a local function")
            return json.dumps(payload), True, ""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        record = self.run(spec, {} if event is None else event)
        payload_text = json.dumps(record.payload)
        logs = "\n".join(record.logs)
        _save_to_cloudwatch(function, logs)
        return payload_text, record.errored, logs[-4096:]

    def run(self, spec: FunctionSpec, event: Any) -> InvocationRecord:
        request_id = str(uuid.uuid4())
        record = InvocationRecord(spec.logical_id, event, None, False, time.time(), 0.0, request_id)
        with self._state_lock:
            self._in_flight += 1
        try:
            self._run(spec, event, record)
        finally:
            record.ended = time.time()
            with self._state_lock:
                self.invocations.append(record)
                self._in_flight -= 1
                self._idle.notify_all()
        return record

    def _run(self, spec: FunctionSpec, event: Any, record: InvocationRecord) -> None:
        try:
            self._run_hooks(spec.logical_id, event)
        except Exception as exc:  # an injected fault: the invocation fails as if the handler had raised it
            record.errored, record.payload = True, _error(type(exc).__name__, str(exc))
            return
        pool = self._pools[spec.function_name]
        sandbox, init_error, init_lines = pool.acquire()
        record.cold_start = sandbox is None or not sandbox.used
        record.logs.extend(init_lines)
        if sandbox is None:
            record.errored, record.payload = True, init_error
            return
        request_id = record.request_id
        self._emit(spec.logical_id, f"START RequestId: {request_id} Version: $LATEST")
        request = {
            "request_id": request_id,
            "event": event,
            "function_arn": spec.arn,
            "deadline_ms": int(time.time() * 1000) + spec.timeout * 1000,
        }
        began = time.monotonic()
        payload_text, errored, lines = sandbox.invoke(request, float(spec.timeout))
        sandbox.used = True
        pool.release(sandbox, healthy=sandbox.alive)
        duration_ms = (time.monotonic() - began) * 1000
        self._emit(spec.logical_id, f"END RequestId: {request_id}")
        self._emit(spec.logical_id, f"REPORT RequestId: {request_id} Duration: {duration_ms:.2f} ms")
        record.logs.extend(lines)
        record.errored = errored
        record.payload = json.loads(payload_text)

    def _run_hooks(self, logical_id: str, event: Any) -> None:
        if not self._hooks:
            return
        key = (logical_id, json.dumps(event, sort_keys=True, default=str))
        with self._state_lock:
            attempt = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempt
        for hook in list(self._hooks):
            hook(logical_id, event, attempt)

    def _emit(self, logical_id: str, line: str) -> None:
        if self._log_sink is None:
            return
        record: dict | str = line
        if line.startswith("{"):
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                record = parsed
        with contextlib.suppress(Exception):  # a broken sink must not fail the invocation
            self._log_sink(logical_id, record)


def _save_to_cloudwatch(function: LambdaFunction, text: str) -> None:
    try:
        function.logs_backend.ensure_log_group(function.logs_group_name)
        function.save_logs(text or datetime.now(UTC).isoformat())
    except Exception:  # noqa: S110 - logs are a convenience; never fail the invocation for them
        pass
