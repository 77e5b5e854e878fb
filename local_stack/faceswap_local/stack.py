"""The whole app on one machine: the AILabTools emulator (backed by the offline engine), the real template's
resources in moto with the real state machine and handlers, the HTTP API gateway, and a log of emitted events."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap_local.aws import LocalCloud
from faceswap_local.dev_ca import ensure_dev_credentials
from faceswap_local.emulator import DEFAULT_API_KEY, EmulatorConfig, EmulatorServer, Swapper, engine_swapper
from faceswap_local.gateway import LocalGateway
from faceswap_local.local_auth import LocalAuth

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
API_ROUTES = [
    "POST /v1/swaps",
    "GET /v1/swaps",
    "POST /v1/swaps/{job_id}/webhook/redeliver",
    "GET /v1/swaps/{job_id}",
    "DELETE /v1/swaps/{job_id}",
    "POST /v1/swaps/{job_id}/start",
    "ANY /v1/{proxy+}",
]


@dataclass
class StackOptions:
    time_scale: float = 0.1  # multiplies the workflow's Wait states and retry back-offs
    gateway_port: int | None = None  # None: no HTTP gateway; 0: any free port
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


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


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
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.emulator: EmulatorServer | None = None
        self.cloud: LocalCloud | None = None
        self.gateway: LocalGateway | None = None
        self.auth = LocalAuth()
        self.events: EventLog | None = None
        self.api_url = ""
        self.webhook_secret = self.options.webhook_secret or new_webhook_secret()

    def start(self) -> OfflineStack:
        options = self.options
        config = options.emulator
        self.emulator = EmulatorServer(config, options.swapper or engine_swapper)
        provider_url = self.emulator.start()
        api_key = config.api_keys[0] if config.api_keys else DEFAULT_API_KEY
        state_dir = options.state_dir or (
            options.events_file.parent if options.events_file else REPO / ".cache" / "c2pa-dev"
        )
        signing = ensure_dev_credentials(state_dir)
        self.cloud = LocalCloud(
            TEMPLATE,
            parameter_overrides={
                "ProviderBaseUrl": provider_url,
                "JobTimeoutSeconds": str(options.job_timeout_seconds),
                "PollExpectedSeconds": str(options.poll_expected_seconds),
                # Waits inside the Query function are real seconds (moto scales only the Wait state): scale the budget.
                "PollInlineSeconds": str(round(40 * options.time_scale)),
                **options.parameter_overrides,
            },
            env_overrides={
                # The emulator serves results over http on 127.0.0.1, which production refuses.
                "ALLOW_INSECURE_RESULT_URLS": "true",
                # Webhook receivers on this machine (http://127.0.0.1:PORT), which production refuses.
                "ALLOW_INSECURE_WEBHOOK_URLS": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                **options.env_overrides,
            },
            secret_values={
                "ProviderApiKeySecret": api_key,
                "WebhookSigningSecret": self.webhook_secret,
                "ProvenanceSigningSecret": signing.secret_string(),
            },
            time_scale=options.time_scale,
            log_sink=options.log_sink,
        )
        self.cloud.start()
        self.events = EventLog(self.cloud.event_tap("EventBus"), options.events_file, options.on_event)
        self.events.start()
        if options.gateway_port is not None:
            self.gateway = LocalGateway(
                lambda event: self.cloud.invoke("ApiFunction", event),
                port=options.gateway_port,
                auth=self.auth,
                routes=API_ROUTES,
                extra_routes={"GET /local/events": self._events_route},
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
