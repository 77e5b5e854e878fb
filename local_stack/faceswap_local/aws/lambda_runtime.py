"""Runs the real Lambda handlers in-process, behind moto's single Lambda choke point.

Every invocation in moto (the Invoke API, Step Functions tasks, S3 notifications, EventBridge targets) ends in
``LambdaFunction._invoke_lambda``; replacing it runs ``functions/<dir>/app.py`` in the calling (server) thread. No
global lock is held while a handler runs: its environment lives in a thread-local overlay (G1) and its output is
captured per thread, so handlers run concurrently like separate Lambda sandboxes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

from .env_overlay import OverlayEnviron
from .log_capture import StreamRouter, capture_thread_output

InvokeHook = Callable[[str, dict, int], None]
LogSink = Callable[[str, "dict | str"], None]

# Variables of the developer's environment that would redirect a handler's boto3 away from the local cloud.
_HIDDEN_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
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
    runtime: str = "python3.11"


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


class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools use."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_size
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"local/[$LATEST]{request_id}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerLoadError(Exception):
    """The handler module or function could not be found."""


_IMPORT_LOCK = threading.RLock()  # sys.path and sys.modules are process-global while a handler module loads


class InProcessLambdaRuntime:
    """Registry of deployed functions plus the patched moto entry point that runs them."""

    def __init__(
        self,
        environ: OverlayEnviron,
        router: StreamRouter,
        runtime_environment: dict[str, str],
        log_sink: LogSink | None = None,
    ) -> None:
        self._environ = environ
        self._router = router
        self._runtime_environment = runtime_environment
        self._log_sink = log_sink
        self._specs: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._private_modules: dict[str, dict[str, ModuleType]] = {}
        self._load_locks: dict[str, threading.Lock] = {}
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
        self._load_locks[spec.function_name] = threading.Lock()

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

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no handler is running; False if some still run after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # invocation -----------------------------------------------------------------------------------------------
    def invoke_moto_function(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        spec = self._specs.get(function.function_name)
        if spec is None:
            payload = _error_payload("Runtime.HandlerNotFound", f"{function.function_name} is not a local function", "")
            return json.dumps(payload), True, ""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        record = self.run(spec, {} if event is None else event)
        payload_text = json.dumps(record.payload)
        logs = "\n".join(record.logs)
        self._save_to_cloudwatch(function, logs + "\n" + payload_text)
        return payload_text, record.errored, logs[-4096:]

    def run(self, spec: FunctionSpec, event: Any) -> InvocationRecord:
        request_id = str(uuid.uuid4())
        record = InvocationRecord(spec.logical_id, event, None, False, time.time(), 0.0, request_id)
        with self._state_lock:
            self._in_flight += 1
        self._router.ensure_installed()
        environment = {**self._runtime_environment, **_lambda_variables(spec), **spec.environment}
        try:
            with (
                self._environ.layer(environment, hide=_HIDDEN_VARIABLES),
                capture_thread_output(lambda line: self._emit(spec.logical_id, line)) as lines,
            ):
                record.logs = lines
                try:
                    self._run_hooks(spec.logical_id, event)
                    handler = self._handler(spec)
                    result = handler(event, LambdaContext(spec, request_id))
                    record.payload = _json_round_trip(result)
                except Exception as exc:
                    record.errored = True
                    record.payload = _error_payload(type(exc).__name__, str(exc), request_id, exc)
                    # What the Python runtime logs for an unhandled exception.
                    print(f"[ERROR] {type(exc).__name__}: {exc}")
        finally:
            record.ended = time.time()
            with self._state_lock:
                self.invocations.append(record)
                self._in_flight -= 1
                self._idle.notify_all()
        return record

    def _run_hooks(self, logical_id: str, event: Any) -> None:
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

    @staticmethod
    def _save_to_cloudwatch(function: LambdaFunction, text: str) -> None:
        try:
            function.logs_backend.ensure_log_group(function.logs_group_name)
            function.save_logs(text)
        except Exception:  # noqa: S110 - logs are a convenience; never fail the invocation for them
            pass

    # loading --------------------------------------------------------------------------------------------------
    def _handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        handler = self._handlers.get(spec.function_name)
        if handler is not None:
            return handler
        with self._load_locks[spec.function_name]:  # cold start: module-level code runs once, in this environment
            handler = self._handlers.get(spec.function_name)
            if handler is None:
                handler = self._load(spec)
                self._handlers[spec.function_name] = handler
        return handler

    def _load(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        module_name, _, function_name = spec.handler.rpartition(".")
        module_path = spec.code_dir / (module_name.replace(".", "/") + ".py")
        if not module_name or not module_path.is_file():
            raise HandlerLoadError(f"handler {spec.handler!r}: {module_path} not found")
        code_dir = str(spec.code_dir)
        with _IMPORT_LOCK:
            before = set(sys.modules)
            sys.path.insert(0, code_dir)
            try:
                module_spec = importlib.util.spec_from_file_location(module_name, module_path)
                assert module_spec is not None and module_spec.loader is not None
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[module_name] = module
                module_spec.loader.exec_module(module)
            finally:
                sys.path.remove(code_dir)
                # Keep this function's own modules (app.py, helpers next to it) private: every function has an app.py.
                private = {
                    name: sys.modules.pop(name) for name in set(sys.modules) - before if _is_under(name, code_dir)
                }
                private.pop(module_name, None)
                sys.modules.pop(module_name, None)
                self._private_modules[spec.function_name] = private
        handler = getattr(module, function_name, None)
        if not callable(handler):
            raise HandlerLoadError(f"handler {spec.handler!r}: {function_name} is not a function of {module_path}")
        return handler


def _is_under(module_name: str, directory: str) -> bool:
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None) or ""
    return bool(path) and str(Path(path).resolve()).startswith(str(Path(directory).resolve()))


def _lambda_variables(spec: FunctionSpec) -> dict[str, str]:
    """The reserved variables the Lambda runtime sets."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
    }


def _json_round_trip(result: Any) -> Any:
    """The runtime serialises the return value; an unserialisable one is a Runtime.MarshalError."""
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise MarshalError(f"Unable to marshal response: {exc}") from exc


class MarshalError(Exception):
    pass


def _error_payload(error_type: str, message: str, request_id: str, exc: BaseException | None = None) -> dict:
    if isinstance(exc, MarshalError):
        error_type = "Runtime.MarshalError"
    stack = traceback.format_tb(exc.__traceback__) if exc is not None else []
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}
