"""`faceswap smoke` against the local stack: the full run passes and leaves nothing behind, `--no-provider` spends
nothing, a missing `--yes` refuses to spend, and a broken job or stack fails the run."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faceswap_client import cli
from faceswap_client.commandline import Console, Context
from faceswap_local.emulator import EmulatorConfig
from faceswap_local.stack import OfflineStack, StackOptions


@dataclass
class LocalStack:
    stack: OfflineStack
    outputs_file: Path
    token: str

    def smoke(self, *args: str, outputs_file: Path | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["smoke", "--outputs", str(outputs_file or self.outputs_file), "--token", self.token, *args]
        parsed = cli.build_parser().parse_args(argv)
        code = parsed.handler(parsed, Context(parsed, Console(out=out, err=err, as_json=parsed.json)))
        return code, out.getvalue(), err.getvalue()

    def accepted_submissions(self) -> int:
        return self.stack.emulator.stats()["accepted_submissions"]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The only coupling to the local stack: start it and write its outputs in the `make serve` outputs.json shape."""
    options = StackOptions(
        time_scale=0.0,
        gateway_port=0,
        emulator=EmulatorConfig(queued_seconds=0.05, processing_seconds=0.2),
        job_timeout_seconds=60,
    )
    with OfflineStack(options) as stack:
        resources = stack.cloud.resources
        outputs = {
            "ApiUrl": stack.api_url,
            "BucketName": resources["SwapBucket"],
            "JobsTableName": resources["JobsTable"],
            "EventBusName": resources["EventBus"],
            "StateMachineArn": resources["FaceSwapStateMachine"],
            "ProviderApiKeySecretArn": resources["ProviderApiKeySecret"],
            "AwsEndpointUrl": stack.cloud.endpoint_url,
            "Region": stack.cloud.region,
        }
        path = tmp_path_factory.mktemp("smoke") / "outputs.json"
        path.write_text(json.dumps(outputs))
        yield LocalStack(stack, path, stack.auth.mint("smoke-tester"))


@pytest.fixture(autouse=True)
def local_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def rows(table: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP from the printed table."""
    found = {}
    for line in table.splitlines()[2:]:
        for outcome in (" PASS ", " FAIL ", " SKIP "):
            if outcome in f"{line} ":
                found[line.split(outcome)[0].strip()] = outcome.strip()
                break
    return found


def leftovers(local: LocalStack) -> tuple[list[str], list[str]]:
    cloud = local.stack.cloud
    bus = cloud.resources["EventBus"]
    rules = cloud.client("events").list_rules(EventBusName=bus, NamePrefix="faceswap-smoke-").get("Rules", [])
    queues = cloud.client("sqs").list_queues(QueueNamePrefix="faceswap-smoke-").get("QueueUrls", [])
    return [rule["Name"] for rule in rules], queues


def test_the_full_run_passes_every_check_and_removes_what_it_created(local):
    before = local.accepted_submissions()
    code, out, err = local.smoke("--yes", "--timeout", "60")
    assert code == 0, out + err
    checks = rows(out)
    expected = {
        "stack outputs",
        "anonymous call refused",
        "unknown job is 404",
        "provider key stored",
        "job created",
        "upload forms use the bucket's address",
        "target uploaded",
        "template uploaded",
        "job started",
        "job succeeded",
        "result link uses the bucket's address",
        "result downloads",
        "result archived in the bucket",
        "job record",
        "FaceSwap Succeeded event",
        "temporary rule and queue removed",
        "job deleted",
    }
    assert set(checks) == expected and set(checks.values()) == {"PASS"}, out
    assert "all checks passed" in out and "one provider call" in err
    assert local.accepted_submissions() == before + 1  # exactly one provider call
    assert leftovers(local) == ([], [])
    s3 = local.stack.cloud.client("s3")
    assert "Contents" not in s3.list_objects_v2(Bucket=local.stack.bucket, Prefix="results/")


def test_no_provider_stops_before_the_submit(local):
    before = local.accepted_submissions()
    code, out, err = local.smoke("--no-provider")
    assert code == 0, out + err
    checks = rows(out)
    assert checks["upload event recorded"] == "PASS" and checks["job deleted"] == "PASS"
    assert "job succeeded" not in checks and "template uploaded" not in checks
    assert local.accepted_submissions() == before


def test_without_yes_it_refuses_to_spend(local):
    before = local.accepted_submissions()
    code, out, err = local.smoke()
    assert code == 2 and "spends one provider call" in err and out == ""
    assert local.accepted_submissions() == before


def test_a_failing_job_fails_the_run_and_still_cleans_up(local):
    from faceswap_local.emulator.faults import FaultRule

    local.stack.emulator.faults.extend([FaultRule.parse("query:task_failed:times=1")])
    code, out, _ = local.smoke("--yes", "--timeout", "60")
    assert code == 1 and "SMOKE TEST FAILED" in out
    checks = rows(out)
    assert checks["job succeeded"] == "FAIL" and "FACE_NOT_FOUND" in out  # the code the provider reported
    assert checks["temporary rule and queue removed"] == "PASS" and checks["job deleted"] == "PASS"
    assert leftovers(local) == ([], [])


def test_a_wrong_output_fails_its_check(local, tmp_path):
    outputs = json.loads(local.outputs_file.read_text())
    outputs["ApiUrl"] = outputs["ApiUrl"] + "/not-the-api"
    broken = tmp_path / "outputs.json"
    broken.write_text(json.dumps(outputs))
    code, out, _ = local.smoke("--no-provider", outputs_file=broken)
    checks = rows(out)
    assert code == 1 and "FAIL" in {checks.get("anonymous call refused"), checks.get("unknown job is 404")}, out
    assert "job created" not in checks  # a failed check stops the checks that depend on it
