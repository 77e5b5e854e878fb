"""End-to-end fixtures: the whole local stack (real template, ASL and handlers on moto; the emulator with the offline
engine; the HTTP gateway), with the workflow's waits scaled to zero."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.soak import set_function_environment
from faceswap_local.stack import OfflineStack, StackOptions

from tests.conftest import EVENTS


@dataclass
class Caller:
    api_url: str
    token: str

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return requests.request(method, f"{self.api_url}{path}", headers=headers, timeout=30, **kwargs)

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.request("POST", "/v1/swaps", json=body or None)
        assert response.status_code == 201, response.text
        return response.json()


def upload(form: dict[str, Any], data: bytes, name: str = "photo") -> requests.Response:
    return requests.post(
        form["url"], data=form["fields"], files={"file": (name, data, form["content_type"])}, timeout=30
    )


def content_type(data: bytes) -> str:
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"


class E2E:
    def __init__(self, stack: OfflineStack, photos: dict[str, bytes]) -> None:
        self.stack = stack
        self.photos = photos
        self.alice = Caller(stack.api_url, stack.auth.mint("alice"))
        self.bob = Caller(stack.api_url, stack.auth.mint("bob"))

    @property
    def emulator(self):
        return self.stack.emulator

    def accepted(self) -> int:
        return self.emulator.stats()["accepted_submissions"]

    def submit_via_api(
        self, caller: Caller | None = None, target: str = "astronaut", template: str = "grace_hopper"
    ) -> str:
        caller = caller or self.alice
        target_bytes, template_bytes = self.photos[target], self.photos[template]
        created = caller.create(
            target_content_type=content_type(target_bytes), template_content_type=content_type(template_bytes)
        )
        assert upload(created["uploads"]["target"], target_bytes).status_code == 204
        assert upload(created["uploads"]["template"], template_bytes).status_code == 204
        return created["job_id"]

    def terminal_event(self, job_id: str, timeout: float = 40.0) -> dict[str, Any]:
        return self.stack.wait_for_terminal_event(job_id, timeout)

    def events_for(self, job_id: str) -> list[dict[str, Any]]:
        self.stack.events.poll()
        return [e["event"] for e in self.stack.events.after(0) if e["event"]["detail"].get("job_id") == job_id]

    def finished(self, job_id: str, timeout: float = 40.0) -> dict[str, Any]:
        self.stack.cloud.wait_execution(job_id, timeout)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the execution ends after its last step wrote the record
            record = self.stack.job_record(job_id)
            if record and record["status"] in ("succeeded", "failed"):
                return record
            time.sleep(0.05)
        return self.stack.job_record(job_id)

    def s3_object(self, key: str) -> tuple[bytes, dict[str, str]]:
        response = self.stack.cloud.client("s3").get_object(Bucket=self.stack.bucket, Key=key)
        return response["Body"].read(), response["Metadata"]

    def states_entered(self, job_id: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.stack.cloud.execution_history(job_id)
            if e["type"].endswith("StateEntered")
        ]


SCHEMAS = {
    name: json.loads((EVENTS / "schemas" / f"{file}.schema.json").read_text())
    for name, file in (("FaceSwap Succeeded", "faceswap_succeeded"), ("FaceSwap Failed", "faceswap_failed"))
}


def assert_valid_event(event: dict[str, Any]) -> None:
    jsonschema.validate(event, SCHEMAS[event["detail-type"]])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# A compressed webhook retry clock (configuration, as an operator would set it): 1 s back-off, a 6 s retry budget,
# a 2 s answer timeout, and the signing secret read afresh on every delivery (rotation tests).
WEBHOOK_TEST_CLOCK = {
    "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_RETRY_CAP_SECONDS": "1",
    "WEBHOOK_RETRY_BUDGET_SECONDS": "6",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_SECRET_MAX_AGE_SECONDS": "0",
}


@pytest.fixture(scope="package")
def e2e(sample_photos: dict[str, Path]) -> Iterator[E2E]:
    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.2),
        job_timeout_seconds=60,
        # The suites run dozens of jobs per caller at once; tests of the limits lower them per function.
        parameter_overrides={"MaxActiveJobsPerCaller": "1000"},
        env_overrides=WEBHOOK_TEST_CLOCK,
    )
    with OfflineStack(options) as stack:
        # With the workflow's waits scaled to zero, the drop zone's pair watch would check a photo before its
        # partner is even uploaded; the tests of that watch switch it on for themselves.
        set_function_environment(stack.cloud, {"INBOX_PAIR_WATCH_ARN": ""}, ("UploadTriggerFunction",))
        yield E2E(stack, {name: path.read_bytes() for name, path in sample_photos.items()})


@pytest.fixture(autouse=True)
def clean_faults(request):
    yield
    if "e2e" in request.fixturenames:
        request.getfixturevalue("e2e").emulator.faults.clear()
