"""The whole app on one machine: the AILabTools emulator (backed by the offline engine), the real template's
resources in moto with the real state machine and handlers, the HTTP API gateway, and a log of emitted events."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap_local.aws import LocalCloud
from faceswap_local.aws.template import load_template
from faceswap_local.dev_ca import ensure_dev_credentials
from faceswap_local.emulator import DEFAULT_API_KEY, EmulatorConfig, EmulatorServer, Swapper, engine_swapper
from faceswap_local.gateway import LocalGateway
from faceswap_local.local_auth import LocalAuth
from faceswap_local.local_state import new_webhook_secret

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
API_FUNCTION = "ApiFunction"


@dataclass
class StackOptions:
    time_scale: float = 0.1  # multiplies the workflow's Wait states and retry back-offs
    gateway_port: int | None = None  # None: no HTTP gateway; 0: any free port
    aws_port: int = 0  # the local AWS endpoint (S3, EventBridge, ...); 0: any free port
    provider_url: str | None = None  # an external AILabTools-compatible service instead of the built-in emulator
    provider_key: str | None = None  # its API key (put into the provider secret)
    max_sandboxes: int = 4  # worker processes per function at most
    cors_origins: list[str] = field(default_factory=list)  # CorsAllowedOrigins
    playground_dir: Path | None = REPO / "playground"  # served at / when it exists
    unauthorized_hint: str = ""  # appended to 401 messages: where the current token is
    emulator: EmulatorConfig = field(default_factory=lambda: EmulatorConfig(queued_seconds=0.3, processing_seconds=1.0))
    swapper: Swapper | None = None  # default: the offline engine
    job_timeout_seconds: int = 600
    poll_expected_seconds: int = 12
    log_sink: Callable[[str, Any], None] | None = None
    events_file: Path | None = None
    on_event: Callable[[dict[str, Any]], None] | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # Function settings on top of the template's (e.g. WEBHOOK_RETRY_* to compress the webhook retry clock).
    env_overrides: dict[str, str] = field(default_factory=dict)
    webhook_secret: str | None = None  # whsec_...; None: a fresh one per stack (see OfflineStack.webhook_secret)

    # Where the C2PA dev CA and signing certificate are kept (default: beside events_file, else .cache/c2pa-dev).
    state_dir: Path | None = None
    # WSGI middleware factories around the local AWS endpoint (e.g. aws_faults.AwsFaultMiddleware), outermost last.
    app_wrappers: list[Callable[[Any], Any]] = field(default_factory=list)


class EventLog:
    """Every event put on the app's bus, numbered, optionally appended to a JSON-lines file."""

    def __init__(self, tap: Any, path: Path | None, on_event: Callable[[dict[str, Any]], None] | None) -> None:
        self._tap = tap
        self._path = path
        self._on_event = on_event
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.entries: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, name="event-log", daemon=True)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def poll(self) -> None:
        for event in self._tap.drain():
            with self._lock:
                entry = {"seq": len(self.entries) + 1, "event": event}
                self.entries.append(entry)
            if self._path:
                with self._path.open("a") as handle:
                    handle.write(json.dumps(event) + "\n")
            if self._on_event:
                self._on_event(event)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The first event matching `predicate`, waiting up to `timeout` seconds (TimeoutError after)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [entry["event"] for entry in self.entries if predicate(entry["event"])]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise TimeoutError("no matching event arrived in time")
            time.sleep(0.05)

    def after(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry in self.entries if entry["seq"] > seq]

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.poll()
            except Exception as error:  # the server may be stopping; the next round retries
                logging.getLogger(__name__).debug("event log poll failed: %s", error)


class OfflineStack:
    def __init__(self, options: StackOptions | None = None, *, auth: LocalAuth | None = None) -> None:
        self.options = options or StackOptions()
        self.emulator: EmulatorServer | None = None
        self.cloud: LocalCloud | None = None
        self.gateway: LocalGateway | None = None
        self.auth = auth or LocalAuth()
        self._token: str | None = None
        self.events: EventLog | None = None
        self.api_url = ""
        self.webhook_secret = self.options.webhook_secret or new_webhook_secret()

    def start(self) -> OfflineStack:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> OfflineStack:
        options = self.options
        config = options.emulator
        if options.provider_url:
            provider_url, api_key = options.provider_url, options.provider_key or ""
        else:
            self.emulator = EmulatorServer(config, options.swapper or engine_swapper)
            provider_url = self.emulator.start()
            api_key = options.provider_key or (config.api_keys[0] if config.api_keys else DEFAULT_API_KEY)
        parameters = dict(options.parameter_overrides)
        if options.cors_origins:
            parameters.setdefault("CorsAllowedOrigins", ",".join(options.cors_origins))
        declared = load_template(TEMPLATE).get("Resources", {})
        secret_values = {"ProviderApiKeySecret": api_key}
        if "WebhookSigningSecret" in declared:
            secret_values["WebhookSigningSecret"] = self.webhook_secret
        if "ProvenanceSigningSecret" in declared:
            state_dir = options.state_dir or (
                options.events_file.parent if options.events_file else REPO / ".cache" / "c2pa-dev"
            )
            secret_values["ProvenanceSigningSecret"] = ensure_dev_credentials(state_dir).secret_string()
        self.cloud = LocalCloud(
            TEMPLATE,
            parameter_overrides={
                "ProviderBaseUrl": provider_url,
                "JobTimeoutSeconds": str(options.job_timeout_seconds),
                "PollExpectedSeconds": str(options.poll_expected_seconds),
                # Waits inside the Query function are real seconds (moto scales only the Wait state): scale the budget.
                "PollInlineSeconds": str(round(40 * options.time_scale)),
                **parameters,
            },
            env_overrides={
                # The emulator serves results over http on 127.0.0.1, which production refuses.
                "ALLOW_INSECURE_RESULT_URLS": "true",
                # Webhook receivers on this machine (http://127.0.0.1:PORT), which production refuses.
                "ALLOW_INSECURE_WEBHOOK_URLS": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                **options.env_overrides,
            },
            secret_values=secret_values,
            time_scale=options.time_scale,
            log_sink=options.log_sink,
            port=options.aws_port,
            max_sandboxes=options.max_sandboxes,
            app_wrappers=options.app_wrappers,
        )
        self.cloud.start()
        self.events = EventLog(self.cloud.event_tap("EventBus"), options.events_file, options.on_event)
        self.events.start()
        if options.gateway_port is not None:
            self.gateway = LocalGateway(
                lambda event: self.cloud.invoke("ApiFunction", event),
                port=options.gateway_port,
                auth=self.auth,
                routes=self.cloud.deployment.http_routes[API_FUNCTION],
                cors=self.cloud.deployment.cors,
                local_routes={"GET /local/events": self._events_route},
                playground_dir=options.playground_dir,
                playground_token=lambda: self.token,
                unauthorized_hint=options.unauthorized_hint,
            )
            self.api_url = self.gateway.start()
        return self

    def stop(self) -> None:
        for part in (self.gateway, self.events, self.cloud, self.emulator):
            if part is not None:
                part.stop()

    def __enter__(self) -> OfflineStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- helpers for the demo, serve and tests -----------------------------------------------------------------
    @property
    def token(self) -> str:
        """The local user's bearer token (set by `serve` to the stored one)."""
        if self._token is None:
            self._token = self.auth.mint("local-user", ttl=7 * 24 * 3600)
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        self._token = value

    def outputs(self) -> dict[str, str]:
        """The stack's CloudFormation outputs, locally, plus the local AWS endpoint and region."""
        resources = self.cloud.resources
        return {
            "ApiUrl": self.api_url,
            "BucketName": str(resources["SwapBucket"]),
            "JobsTableName": str(resources["JobsTable"]),
            "EventBusName": str(resources["EventBus"]),
            "StateMachineArn": str(resources["FaceSwapStateMachine"]),
            "ProviderApiKeySecretArn": str(resources["ProviderApiKeySecret"]),
            "AwsEndpointUrl": self.cloud.endpoint_url,
            "Region": self.cloud.region,
        }

    @property
    def bucket(self) -> str:
        return str(self.cloud.resources["SwapBucket"])

    @property
    def table(self) -> str:
        return str(self.cloud.resources["JobsTable"])

    def job_record(self, job_id: str) -> dict[str, Any] | None:
        from boto3.dynamodb.types import TypeDeserializer

        item = (
            self.cloud.client("dynamodb")
            .get_item(TableName=self.table, Key={"job_id": {"S": job_id}}, ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        deserializer = TypeDeserializer()
        return {key: deserializer.deserialize(value) for key, value in item.items()}

    def wait_for_terminal_event(self, job_id: str, timeout: float) -> dict[str, Any]:
        return self.events.wait_for(
            lambda e: (
                e.get("detail", {}).get("job_id") == job_id
                and e.get("detail-type") in ("FaceSwap Succeeded", "FaceSwap Failed")
            ),
            timeout,
        )

    def _events_route(self, event: dict[str, Any]) -> dict[str, Any]:
        params = event.get("queryStringParameters") or {}
        raw_after = params.get("after", "0")
        if not re.fullmatch(r"[0-9]{1,18}", raw_after):
            body = {"error": {"code": "VALIDATION_ERROR", "message": "after must be a non-negative integer."}}
            return {"statusCode": 400, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
        after = int(raw_after)
        self.events.poll()
        entries = self.events.after(after)
        body = {"events": entries, "next": entries[-1]["seq"] if entries else after}
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
