"""The provider API key and presigned-URL signatures never leak.

A run of the whole stack with a distinctive key captures everything: the handlers' output (log sink), every Python
log record at DEBUG (botocore, urllib3, requests, faceswap, ...), the handlers' invocation payloads and errors, the
CloudWatch log groups, the emitted events, every job record (a table scan), the API's answers, and the process's own
stdout/stderr. It runs in a child process: moto's state is process-global, so a second stack cannot run next to the
package's `e2e` stack, and a child also lets us see every byte the process printed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

API_KEY = "sk-live-SECRET-7f3a9c"
REPO = Path(__file__).resolve().parents[2]


# -- the child process ------------------------------------------------------------------------------------------
class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception as error:  # a record that cannot format must not hide the others
            self.lines.append(f"unformattable record from {record.name}: {error!r}")


def _run_scenario(photos_dir: Path, out: Path) -> None:
    from faceswap_local.emulator import EmulatorConfig
    from faceswap_local.soak import UniquePhotos, set_function_environment
    from faceswap_local.stack import OfflineStack, StackOptions

    sink: list[str] = []
    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        job_timeout_seconds=60,
        emulator=EmulatorConfig(
            api_keys=(API_KEY,), queued_seconds=0.05, processing_seconds=0.1, fault_timeout_seconds=1.0
        ),
        log_sink=lambda function, record: sink.append(f"{function} {json.dumps(record, default=str)}"),
    )
    unique = UniquePhotos((photos_dir / "grace_hopper.jpg").read_bytes(), (photos_dir / "astronaut.png").read_bytes())
    collect = _Collect()
    with OfflineStack(options) as stack:
        # Log everything from here on (the harness itself stored the key while deploying; that is not the app).
        set_function_environment(
            stack.cloud, {"LOG_LEVEL": "DEBUG", "POWERTOOLS_LOG_LEVEL": "DEBUG", "PROVIDER_READ_TIMEOUT": "0.5"}
        )
        root = logging.getLogger()
        root.addHandler(collect)
        root.setLevel(logging.DEBUG)
        for name in ("urllib3", "botocore", "boto3", "faceswap", "faceswap_local", "aws_lambda_powertools"):
            logging.getLogger(name).setLevel(logging.DEBUG)

        token = stack.auth.mint("secrets-user")
        headers = {"Authorization": f"Bearer {token}"}
        api_bodies: list[str] = []
        forms: list[dict[str, Any]] = []

        def create_job(index: int, broken: bool = False) -> str:
            response = requests.post(
                f"{stack.api_url}/v1/swaps",
                headers=headers,
                timeout=30,
                json={"target_content_type": "image/jpeg", "template_content_type": "image/jpeg"},
            )
            api_bodies.append(response.text)
            created = response.json()
            target, template = unique.pair(index)
            if broken:
                target = target[: len(target) // 3]
            for role, data in (("target", target), ("template", template)):
                form = created["uploads"][role]
                forms.append(form)
                requests.post(
                    form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=30
                ).raise_for_status()
            return str(created["job_id"])

        jobs = {"happy": create_job(1)}
        stack.wait_for_terminal_event(jobs["happy"], 60)
        jobs["broken_image"] = create_job(2, broken=True)
        stack.wait_for_terminal_event(jobs["broken_image"], 60)
        stack.emulator.faults.add("submit", "http_429", times=1)
        stack.emulator.faults.add("query", "http_503", times=1)
        stack.emulator.faults.add("query", "malformed_json", times=1)
        stack.emulator.faults.add("result", "html_502", times=1)
        jobs["provider_errors"] = create_job(3)
        stack.wait_for_terminal_event(jobs["provider_errors"], 60)
        stack.emulator.faults.add("submit", "no_credits", times=1)
        jobs["no_credits"] = create_job(4)
        stack.wait_for_terminal_event(jobs["no_credits"], 60)
        stack.emulator.faults.add("submit", "timeout", times=1)
        jobs["lost_submit"] = create_job(5)
        stack.wait_for_terminal_event(jobs["lost_submit"], 60)

        download_urls = []
        for job_id in jobs.values():
            response = requests.get(f"{stack.api_url}/v1/swaps/{job_id}", headers=headers, timeout=30)
            api_bodies.append(response.text)
            result = response.json().get("result") or {}
            if result.get("url"):
                download_urls.append(result["url"])
        for path in ("/v1/swaps/0123456789abcdef0123456789abcdef", "/v1/swaps/../../etc", "/v1/nothing"):
            api_bodies.append(requests.get(f"{stack.api_url}{path}", headers=headers, timeout=30).text)
        time.sleep(0.5)
        stack.events.poll()
        root.removeHandler(collect)

        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        items = stack.cloud.client("dynamodb").scan(TableName=stack.table)["Items"]
        records = [{key: deserializer.deserialize(value) for key, value in item.items()} for item in items]
        logs_client = stack.cloud.client("logs")
        cloudwatch = [
            event["message"]
            for group in logs_client.describe_log_groups()["logGroups"]
            for event in logs_client.filter_log_events(logGroupName=group["logGroupName"])["events"]
        ]
        # What a handler logged or raised, apart from what it returned (the API's answers carry the forms).
        invocation_logs = [
            json.dumps({"function": r.function, "logs": r.logs, "error": r.payload if r.errored else None}, default=str)
            for r in stack.cloud.invocations
        ]
        invocation_payloads = [json.dumps(r.payload, default=str) for r in stack.cloud.invocations]
        signatures = [
            form["fields"][name]
            for form in forms
            for name in form["fields"]
            if name.lower() in ("x-amz-signature", "policy")
        ]
        signatures += re.findall(r"X-Amz-Signature=([0-9a-f]+)", " ".join(download_urls))
        report = {
            "jobs": jobs,
            "statuses": {name: (stack.job_record(job_id) or {}).get("status") for name, job_id in jobs.items()},
            "error_codes": {
                name: ((stack.job_record(job_id) or {}).get("error") or {}).get("code") for name, job_id in jobs.items()
            },
            "logs": collect.lines,
            "sink": sink,
            "events": [json.dumps(entry["event"]) for entry in stack.events.after(0)],
            "records": [json.dumps(record, default=str) for record in records],
            "api_bodies": api_bodies,
            "invocation_logs": invocation_logs,
            "invocation_payloads": invocation_payloads,
            "cloudwatch": cloudwatch,
            "signatures": signatures,
            "download_urls": len(download_urls),
        }
    out.write_text(json.dumps(report))


# -- the test ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(sample_photos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("secrets") / "report.json"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [
                str(REPO),
                str(REPO / "engine"),
                str(REPO / "sdk"),
                str(REPO / "local_stack"),
                str(REPO / "layers" / "common" / "python"),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
    }
    child = subprocess.run(
        [sys.executable, __file__, str(sample_photos["grace_hopper"].parent), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        cwd=REPO,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(out.read_text())
    report["process_output"] = [child.stdout, child.stderr]
    return report


CHANNELS = (
    "logs",
    "sink",
    "events",
    "records",
    "api_bodies",
    "invocation_logs",
    "invocation_payloads",
    "cloudwatch",
    "process_output",
)


def test_the_scenario_ran_every_path(run: dict[str, Any]):
    assert run["statuses"] == {
        "happy": "succeeded",
        "broken_image": "failed",
        "provider_errors": "succeeded",
        "no_credits": "failed",
        "lost_submit": "failed",
    }
    assert run["error_codes"]["broken_image"] == "IMAGE_DECODE_FAILED"
    assert run["error_codes"]["no_credits"] == "PROVIDER_NO_CREDITS"
    assert run["error_codes"]["lost_submit"] == "PROVIDER_OUTCOME_UNKNOWN"
    assert run["download_urls"] == 2 and len(run["signatures"]) == 2 * 5 * 2 + 2


def test_everything_was_captured(run: dict[str, Any]):
    # A capture that misses the loud channels would make the next tests pass for nothing.
    logs = "\n".join(run["logs"])
    assert "botocore" in logs and "urllib3.connectionpool DEBUG" in logs
    assert "secretsmanager" in logs.lower()  # the handlers fetched the key while we listened
    assert any("provider submit failed" in line for line in run["sink"])  # the provider client's own warnings
    assert any(run["jobs"]["happy"] in line for line in run["sink"])
    assert all(run[channel] for channel in CHANNELS if channel != "process_output")


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_api_key_never_appears(run: dict[str, Any], channel: str):
    text = "\n".join(run[channel])
    assert API_KEY not in text
    assert API_KEY.lower() not in text.lower()
    assert hashlib.sha256(API_KEY.encode()).hexdigest() not in text


# Not "cloudwatch": the local runtime appends each return value to the log stream (AWS does not), and the API's
# answers carry the upload forms by design.
@pytest.mark.parametrize("channel", ["logs", "sink", "invocation_logs", "process_output"])
def test_no_presigned_signature_is_logged(run: dict[str, Any], channel: str):
    text = "\n".join(run[channel])
    assert "X-Amz-Signature=" not in text
    leaked = [signature[:12] for signature in run["signatures"] if signature in text]
    assert not leaked


if __name__ == "__main__":
    _run_scenario(Path(sys.argv[1]), Path(sys.argv[2]))
