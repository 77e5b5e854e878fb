"""LocalCloud: the app's real template, state machine and handlers on an in-process moto server (no Docker)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.config import default_user_config
from moto.moto_api._internal.models import moto_api_backend

from . import moto_patches
from .deploy import Deployment, TemplateDeployer
from .endpoint import LocalEndpoint
from .event_tap import EventTap
from .s3_cors import S3CorsMiddleware
from .s3_post_policy import PostPolicyMiddleware
from .sandbox import EXTRA_HOSTS_VARIABLE
from .sqs_poller import SqsPollers
from .workers import DEFAULT_MAX_SANDBOXES, InvocationRecord, InvokeHook, LambdaRuntime, LogSink

REGION = "us-east-1"
WsgiWrapper = Callable[[Any], Any]  # a WSGI middleware factory: app -> app
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
_active_lock = threading.Lock()
_active: LocalCloud | None = None  # moto's backends are process-global: one running cloud per process


_session_lock = threading.Lock()
_session: boto3.session.Session | None = None


def _shared_session() -> boto3.session.Session:
    """One session for every cloud of the process: it caches the service models (0.3 s per client otherwise)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


class FunctionInvocationError(Exception):
    """``LocalCloud.invoke`` of a function that failed; ``payload`` is Lambda's error object."""

    def __init__(self, function: str, payload: dict[str, Any]) -> None:
        super().__init__(f"{function} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
        self.function = function
        self.payload = payload


class LocalCloud:
    def __init__(
        self,
        template_path: Path,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        env_overrides: Mapping[str, str] | None = None,
        secret_values: Mapping[str, str] | None = None,
        time_scale: float = 0.0,
        log_sink: LogSink | None = None,
        stack_name: str = "faceswap-local",
        host: str = "127.0.0.1",
        port: int = 0,
        max_sandboxes: int = DEFAULT_MAX_SANDBOXES,
        app_wrappers: Sequence[WsgiWrapper] = (),
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.template_path = Path(template_path)
        self.parameter_overrides = dict(parameter_overrides or {})
        self.env_overrides = dict(env_overrides or {})
        self.secret_values = dict(secret_values or {})
        self.time_scale = time_scale
        self.log_sink = log_sink
        self.stack_name = stack_name
        self.host = host
        self.port = port
        self.max_sandboxes = max_sandboxes
        self.app_wrappers = list(app_wrappers)  # outermost last, in front of the S3 checks (see _wrap_app)
        self.region = REGION
        self.account_id = DEFAULT_ACCOUNT_ID
        self.endpoint_url = ""
        self.deployment = Deployment()
        self._shutdown = threading.Event()
        self.clock = moto_patches.Clock(time_scale, self._shutdown)
        self._hooks: list[InvokeHook] = []
        self._clients: dict[str, Any] = {}
        self._server: LocalEndpoint | None = None
        self._runtime: LambdaRuntime | None = None
        self._pollers: SqsPollers | None = None
        self._patches = moto_patches.PatchSet()
        self._async_invoker = moto_patches.AsyncInvoker(self.clock)
        self._undo: list[Callable[[], None]] = []
        self._taps = 0
        self._hosts_file: Path | None = None

    # lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError("another LocalCloud is running in this process (moto's state is process-global)")
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        moto_api_backend.reset()  # a fresh account for every cloud
        sfn_config = default_user_config["stepfunctions"]
        previous_flag = sfn_config["execute_state_machine"]
        sfn_config["execute_state_machine"] = True  # read on every Step Functions call; set before anything exists
        self._undo.append(lambda: sfn_config.__setitem__("execute_state_machine", previous_flag))

        werkzeug_logger = logging.getLogger("werkzeug")  # one access-log line per AWS call drowns the handler logs
        previous_level = werkzeug_logger.level
        werkzeug_logger.setLevel(logging.ERROR)
        self._undo.append(lambda: werkzeug_logger.setLevel(previous_level))

        moto_patches.install_bucket_cors_only(self._patches)  # before the server builds its service applications
        self._server = LocalEndpoint(self.host, self.port, self._wrap_app)
        self._server.start()
        self.endpoint_url = self._server.url
        # The interpreter's own clients go to http://localhost:$MOTO_PORT (default 5000, maybe somebody else's).
        self._set_base_variable("MOTO_PORT", str(self._server.port))

        runtime_environment = {
            **_FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # No developer profile or config file may redirect a function away from the local cloud.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_SAM_LOCAL": "true",  # what `sam local` sets; Powertools then disables X-Ray tracing
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            EXTRA_HOSTS_VARIABLE: str(self._extra_hosts_file()),
        }
        self._runtime = LambdaRuntime(runtime_environment, self.log_sink, self.max_sandboxes)
        for hook in self._hooks:
            self._runtime.add_invoke_hook(hook)
        self._runtime.install()
        self._undo.append(self._runtime.uninstall)
        self.clock.install(self._patches)
        moto_patches.install_unnamed_executions(self._patches)
        moto_patches.install_eventbridge_targets(self._patches, self._async_invoker)
        moto_patches.install_complete_event_envelopes(self._patches)
        moto_patches.install_lambda_unknown_for_runtime_deaths(self._patches)
        moto_patches.install_async_s3_notifications(self._patches, self._async_invoker)

        self.deployment = TemplateDeployer(
            self.template_path,
            self.client,
            region=self.region,
            account_id=self.account_id,
            stack_name=self.stack_name,
            parameter_overrides=self.parameter_overrides,
            env_overrides=self.env_overrides,
            secret_values=self.secret_values,
            endpoint_url=self.endpoint_url,
        ).deploy()
        for spec in self.deployment.functions.values():
            self._runtime.register(spec)
        self._async_invoker.configs = self.deployment.async_configs
        self._async_invoker.send_to_queue = self._send_to_queue
        self._pollers = SqsPollers(self._poller_client("sqs"), self.invoke_batch, self._shutdown)
        for mapping in self.deployment.queue_sources:
            self._pollers.start(mapping)

    def _extra_hosts_file(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="faceswap-local-hosts-"))
        self._undo.append(lambda: shutil.rmtree(folder, ignore_errors=True))
        hosts_file = self._hosts_file = folder / "hosts.json"
        hosts_file.write_text("{}")
        return hosts_file

    def add_host(self, name: str, address: str) -> None:
        """Make `name` resolve to `address` inside every function's sandbox from now on (like ``--add-host``)."""
        if self._hosts_file is None:
            raise RuntimeError("LocalCloud is not started")
        hosts = json.loads(self._hosts_file.read_text())
        hosts[name] = address
        staged = self._hosts_file.with_suffix(".tmp")
        staged.write_text(json.dumps(hosts))
        staged.replace(self._hosts_file)  # a sandbox reading it never sees half a file

    def _wrap_app(self, app: Any) -> Any:
        """The moto server's WSGI application as clients meet it: the one place where it is wrapped. Presigned POST
        checks innermost, then S3's CORS answers (so refusals carry CORS headers), then ``app_wrappers`` in order."""
        secrets = {_FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]: _FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        app = S3CorsMiddleware(PostPolicyMiddleware(app, secrets))
        for wrap in self.app_wrappers:
            app = wrap(app)
        return app

    def _set_base_variable(self, name: str, value: str) -> None:
        base = os.environ
        previous = base.get(name)
        base[name] = value
        self._undo.append(lambda: base.__setitem__(name, previous) if previous is not None else base.pop(name, None))

    def stop(self) -> None:
        """Stop running executions, let handlers finish, stop the server, restore every patch (idempotent)."""
        global _active
        if _active is not self:
            return
        try:
            self._stop_executions()
            self._shutdown.set()  # wakes scaled Wait/Retry sleeps, pending asynchronous retries and SQS pollers
            moto_patches.join_interpreter_threads(timeout=5.0)
            if self._pollers is not None:
                self._pollers.join(timeout=5.0)
            self._async_invoker.join(timeout=5.0)
            if self._runtime is not None:
                self._runtime.close(timeout=10.0)
            if self._server is not None:
                self._server.stop()
        finally:
            self._patches.restore()
            while self._undo:
                self._undo.pop()()
            self._clients.clear()
            with _active_lock:
                _active = None

    def _stop_executions(self) -> None:
        if self._server is None or not self.endpoint_url:
            return
        sfn = self.client("stepfunctions")
        for arn in self.deployment.state_machines.values():
            with contextlib.suppress(Exception):
                running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
                for execution in running:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="LocalCloud stopped")

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _poller_client(self, service: str) -> Any:
        """A client of its own per poller service: a long poll must not share a connection pool with the tests."""
        config = Config(retries={"mode": "standard", "max_attempts": 3})
        return _shared_session().client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
            config=config,
        )

    # access -----------------------------------------------------------------------------------------------------
    @property
    def resources(self) -> dict[str, Any]:
        return self.deployment.resources

    @property
    def invocations(self) -> list[InvocationRecord]:
        return self._runtime.invocations if self._runtime is not None else []

    def client(self, service: str) -> Any:
        """A boto3 client bound to the local server (Lambda: long read timeout, never retried)."""
        if not self.endpoint_url:
            raise RuntimeError("LocalCloud is not started")
        if service not in self._clients:
            config = Config(retries={"mode": "standard", "max_attempts": 3})
            if service == "s3":  # presigned forms and URLs signed as the product signs them
                config = Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 3})
            if service == "lambda":  # a retried Invoke would run the handler twice
                config = Config(read_timeout=900, retries={"total_max_attempts": 1})
            self._clients[service] = _shared_session().client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
                config=config,
            )
        return self._clients[service]

    def function_name(self, logical_id: str) -> str:
        try:
            return self.deployment.functions[logical_id].function_name
        except KeyError:
            raise KeyError(f"no function {logical_id!r}; deployed: {sorted(self.deployment.functions)}") from None

    def add_invoke_hook(self, hook: InvokeHook) -> None:
        """``hook(function logical id, event, attempt)`` runs before each handler; raising fails that invocation."""
        self._hooks.append(hook)
        if self._runtime is not None:
            self._runtime.add_invoke_hook(hook)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Synchronous Invoke through moto's Lambda API; raises FunctionInvocationError if the function failed."""
        response = self.client("lambda").invoke(
            FunctionName=self.function_name(logical_id), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise FunctionInvocationError(logical_id, payload)
        return payload

    def _send_to_queue(self, queue_arn: str, body: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))

    def invoke_batch(self, function_name: str, event: dict[str, Any]) -> tuple[bool, Any]:
        """Synchronous Invoke by physical name, as an event source mapping does: (errored, payload)."""
        response = self.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        return bool(response.get("FunctionError")), json.loads(response["Payload"].read() or b"null")

    def update_function_environment(self, logical_id: str, variables: Mapping[str, str | None]) -> None:
        """Change a function's variables (None removes one); like UpdateFunctionConfiguration, later invocations
        run in new sandboxes started with the new environment."""
        spec = self.deployment.functions[logical_id]
        for name, value in variables.items():
            if value is None:
                spec.environment.pop(name, None)
            else:
                spec.environment[name] = value
        self.client("lambda").update_function_configuration(
            FunctionName=spec.function_name, Environment={"Variables": dict(spec.environment)}
        )
        if self._runtime is not None:
            self._runtime.pool(spec.function_name).retire()

    def cold_starts(self) -> dict[str, int]:
        """Sandboxes started so far, per function logical id."""
        return self._runtime.cold_starts() if self._runtime is not None else {}

    def wait_for_invocation(
        self,
        logical_id: str,
        predicate: Callable[[InvocationRecord], bool] = lambda _r: True,
        timeout: float = 10.0,
        count: int = 1,
    ) -> list[InvocationRecord]:
        """Finished invocations of a function matching ``predicate``, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [r for r in list(self.invocations) if r.function == logical_id and predicate(r)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(matching)}/{count} invocations of {logical_id} after {timeout}s")
            time.sleep(0.02)

    def event_tap(self, bus_logical_id: str = "EventBus") -> EventTap:
        """Capture every event put on the bus (a rule matching the account, with an SQS target)."""
        bus = self.deployment.event_buses.get(bus_logical_id, "default" if bus_logical_id == "default" else None)
        if bus is None:
            raise KeyError(f"no event bus {bus_logical_id!r}; deployed: {sorted(self.deployment.event_buses)}")
        self._taps += 1
        name = f"local-event-tap-{self._taps}"
        sqs, events = self.client("sqs"), self.client("events")
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"account": [self.account_id]}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": queue_arn}])
        return EventTap(sqs, queue_url, bus)

    # executions -------------------------------------------------------------------------------------------------
    def execution_arn(self, name: str) -> str:
        """The ARN of execution ``name`` of any deployed state machine (KeyError if none has it)."""
        sfn = self.client("stepfunctions")
        for machine_arn in self.deployment.state_machines.values():
            arn = machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
            with contextlib.suppress(sfn.exceptions.ExecutionDoesNotExist):
                sfn.describe_execution(executionArn=arn)
                return arn
        raise KeyError(f"no execution named {name!r}")

    def wait_execution(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """describe_execution once the execution is no longer RUNNING (it may not exist yet when called)."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        arn: str | None = None
        while True:
            if arn is None:
                with contextlib.suppress(KeyError):
                    arn = self.execution_arn(name)
            if arn is not None:
                description = sfn.describe_execution(executionArn=arn)
                if description["status"] != "RUNNING":
                    return description
            if time.monotonic() >= deadline:
                state = "still RUNNING" if arn else "never started"
                raise TimeoutError(f"execution {name} {state} after {timeout}s")
            time.sleep(0.02)

    def execution_history(self, name: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        paginator = sfn.get_paginator("get_execution_history")
        events: list[dict[str, Any]] = []
        for page in paginator.paginate(executionArn=self.execution_arn(name)):
            events.extend(page["events"])
        return events
