"""`make serve` as a user runs it: `python -m faceswap_local serve` in its own process on a free port, driven over HTTP
with the `faceswap` CLI (bearer token from the token file, and SigV4 with the printed local IAM user as a second
caller), then stopped with SIGINT."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests
from faceswap_local.stack import REPO

from tests.serve_process import STOP_TIMEOUT, running_serve

CLI_TIMEOUT = 90.0
SIGV4_LINE = re.compile(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[str]
    api_url: str
    token: str
    access_key: str
    secret_key: str
    events_file: Path
    webhook_secret_file: Path
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def values(self) -> dict[str, str]:
        """The `key=value` pairs of the last stdout line."""
        last = self.out.strip().splitlines()[-1]
        return dict(pair.split("=", 1) for pair in last.split())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    port, aws_port = free_port(), free_port()
    token_file, events_file = folder / "token.txt", folder / "events.jsonl"
    webhook_secret_file = folder / "local" / "webhook-secret.txt"
    arguments = [
        "--port",
        str(port),
        "--aws-port",
        str(aws_port),
        "--state-dir",
        str(folder / "state"),
        "--time-scale",
        "0.05",
        "--processing-seconds",
        "0.5",
        "--token-file",
        str(token_file),
        "--events-file",
        str(events_file),
        "--webhook-secret-file",
        str(webhook_secret_file),
    ]
    with running_serve(arguments) as (process, lines):
        credentials = next(SIGV4_LINE.search(line) for line in lines if SIGV4_LINE.search(line))
        yield Served(
            process,
            f"http://127.0.0.1:{port}",
            token_file.read_text().strip(),
            credentials.group(1),
            credentials.group(2),
            events_file,
            webhook_secret_file,
            lines,
        )


def cli(served: Served, *args: str, auth: str = "bearer") -> CliResult:
    """Run `python -m faceswap_client` as a script would: env for the API and credentials, no AWS config files."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "FACESWAP_"))}
    env.update(
        {
            "FACESWAP_API": served.api_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if auth == "bearer":
        env["FACESWAP_TOKEN"] = served.token
    elif auth == "sigv4":
        env.update(
            {
                "AWS_ACCESS_KEY_ID": served.access_key,
                "AWS_SECRET_ACCESS_KEY": served.secret_key,
                "AWS_REGION": "us-east-1",
            }
        )
    command = [sys.executable, "-m", "faceswap_client", *args]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def assert_one_error_line(result: CliResult) -> None:
    lines = result.err.strip().splitlines()
    assert lines and lines[-1].startswith("faceswap: "), result.err
    assert "Traceback" not in result.err


@pytest.fixture(scope="module")
def swapped(served: Served, sample_photos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("result") / "swapped.png"
    result = cli(
        served,
        "swap",
        str(sample_photos["astronaut"]),
        str(sample_photos["grace_hopper"]),
        "-o",
        str(output),
        "--poll-interval",
        "0.2",
        "--timeout",
        "60",
        "--client-reference",
        "serve-test",
    )
    return {"result": result, "output": output}


def test_happy_path_swap_writes_the_result_the_cli_vouched_for(swapped: dict, sample_photos: dict[str, Path]):
    result: CliResult = swapped["result"]
    assert result.code == 0, result.err
    values = result.values()
    assert re.fullmatch(r"[0-9a-f]{32}", values["job_id"])
    output: Path = swapped["output"]
    data = output.read_bytes()
    assert hashlib.sha256(data).hexdigest() == values["sha256"]
    assert data.startswith(b"\x89PNG")  # the target is a PNG; the result keeps its format
    assert data != sample_photos["astronaut"].read_bytes()


def test_status_shows_the_succeeded_job(served: Served, swapped: dict):
    job_id = swapped["result"].values()["job_id"]
    result = cli(served, "status", job_id, "--json")
    assert result.code == 0, result.err
    job = json.loads(result.out)
    assert job["status"] == "succeeded" and job["client_reference"] == "serve-test"
    assert job["result"]["sha256"] == swapped["result"].values()["sha256"]


def test_events_show_the_jobs_terminal_event(served: Served, swapped: dict):
    job_id = swapped["result"].values()["job_id"]
    result = cli(served, "events", "--job", job_id)
    assert result.code == 0, result.err
    events = [json.loads(line)["event"] for line in result.out.splitlines() if line.strip()]
    assert [event["detail-type"] for event in events] == ["FaceSwap Succeeded"]
    assert events[0]["detail"]["result"]["sha256"] == swapped["result"].values()["sha256"]
    written = [json.loads(line) for line in served.events_file.read_text().splitlines() if line.strip()]
    assert any(event["detail"].get("job_id") == job_id for event in written)
    assert f"EVENT FaceSwap Succeeded job={job_id}" in served.output()


def test_non_image_is_refused_locally_before_any_job(served: Served, sample_photos: dict[str, Path], tmp_path: Path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is text, renamed photo.jpg\n")
    before = cli(served, "events").out.count("\n")
    result = cli(served, "swap", str(fake), str(sample_photos["grace_hopper"]), "-o", str(tmp_path / "out.jpg"))
    assert result.code == 2 and result.out == ""
    assert_one_error_line(result)
    assert "not a JPEG or PNG" in result.err
    assert cli(served, "events").out.count("\n") == before


def test_corrupt_jpeg_is_rejected_by_the_service(served: Served, sample_photos: dict[str, Path], tmp_path: Path):
    """A valid JPEG magic passes the local check; the upload trigger's content check fails the job."""
    photo = sample_photos["grace_hopper"].read_bytes()
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(photo[: len(photo) // 3])
    result = cli(
        served,
        "swap",
        str(corrupt),
        str(sample_photos["grace_hopper"]),
        "-o",
        str(tmp_path / "out.jpg"),
        "--poll-interval",
        "0.2",
        "--timeout",
        "60",
    )
    assert result.code == 1, (result.out, result.err)
    values = result.values()
    assert values["status"] == "failed" and values["error_code"] == "IMAGE_DECODE_FAILED"
    assert_one_error_line(result)
    assert not (tmp_path / "out.jpg").exists()


def test_unknown_and_malformed_job_ids(served: Served):
    unknown = cli(served, "status", "0" * 32)
    assert unknown.code == 5 and "JOB_NOT_FOUND" in unknown.err
    assert_one_error_line(unknown)
    malformed = cli(served, "status", "../../etc/passwd")
    assert malformed.code == 2
    assert_one_error_line(malformed)


def test_another_caller_cannot_see_or_delete_the_job(served: Served, swapped: dict):
    """The local IAM user (SigV4) is a different caller from the token's subject."""
    job_id = swapped["result"].values()["job_id"]
    for command in ("status", "delete"):
        result = cli(served, command, job_id, auth="sigv4")
        assert result.code == 5, (command, result.err)
        assert "JOB_NOT_FOUND" in result.err
    assert cli(served, "status", job_id).values()["status"] == "succeeded"  # untouched


def test_no_credentials_is_refused(served: Served):
    result = cli(served, "status", "0" * 32, "--auth", "none", auth="none")
    assert result.code == 4
    assert_one_error_line(result)


def test_delete_then_the_job_is_gone(served: Served, swapped: dict):
    job_id = swapped["result"].values()["job_id"]
    deleted = cli(served, "delete", job_id)
    assert deleted.code == 0, deleted.err
    assert deleted.values() == {"job_id": job_id, "status": "deleted"}
    gone = cli(served, "status", job_id)
    assert gone.code == 5 and "JOB_NOT_FOUND" in gone.err


def _banner_command(served: Served, marker: str) -> list[list[str]]:
    return [shlex.split(line.strip()) for line in served.lines if line.strip().startswith("aws ") and marker in line]


def _run_aws_command(argv: list[str], credentials: dict[str, str]) -> None:
    """What the printed `aws` command does, with boto3 against the same endpoint (the AWS CLI is not installed)."""
    assert argv[:2] == ["aws", "--endpoint-url"]
    endpoint, service, operation, *rest = argv[2:]
    client = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **credentials)
    if (service, operation) == ("s3", "cp"):
        source, destination = rest
        bucket, key = destination.removeprefix("s3://").split("/", 1)
        client.put_object(Bucket=bucket, Key=key, Body=Path(source).read_bytes())
    elif (service, operation) == ("events", "put-events"):
        assert rest[0] == "--entries"
        result = client.put_events(Entries=json.loads(rest[1]))
        assert result["FailedEntryCount"] == 0
    else:
        raise AssertionError(f"unexpected command {argv}")


def test_outputs_and_the_banners_drop_zone_and_eventbridge_commands_work(
    served: Served, sample_photos: dict[str, Path], tmp_path: Path
):
    outputs = json.loads((served.events_file.parent / "state" / "outputs.json").read_text())
    assert set(outputs) == {"ApiUrl", "BucketName", "JobsTableName", "EventBusName", "StateMachineArn",
                            "ProviderApiKeySecretArn", "AwsEndpointUrl", "Region"}  # fmt: skip
    assert outputs["ApiUrl"] == served.api_url and outputs["Region"] == "us-east-1"
    exported = next(line for line in served.lines if "export AWS_ACCESS_KEY_ID=" in line)
    values = dict(part.split("=", 1) for part in exported.split()[1:])
    credentials = {
        "aws_access_key_id": values["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
    }
    copies = _banner_command(served, " s3 cp ")
    (put_events,) = _banner_command(served, " put-events ")
    assert len(copies) == 2 and all(argv[2] == outputs["AwsEndpointUrl"] for argv in [*copies, put_events])
    photos = {"TARGET.jpg": sample_photos["grace_hopper"], "TEMPLATE.jpg": sample_photos["grace_hopper"]}
    for argv in copies:
        target = tmp_path / argv[5]
        target.write_bytes(photos[argv[5]].read_bytes())
        _run_aws_command([*argv[:5], str(target), argv[6]], credentials)
    _run_aws_command(put_events, credentials)
    headers = {"Authorization": f"Bearer {served.token}"}
    deadline = time.monotonic() + 60
    succeeded: set[str] = set()
    while len(succeeded) < 2 and time.monotonic() < deadline:
        events = requests.get(f"{served.api_url}/local/events?after=0", headers=headers, timeout=10).json()["events"]
        succeeded = {
            e["event"]["detail"]["job_id"]
            for e in events
            if e["event"]["detail-type"] == "FaceSwap Succeeded" and e["event"]["detail"].get("origin") != "api"
        }
        time.sleep(0.2)
    assert len(succeeded) >= 2, served.output()[-2000:]


def test_the_bucket_lets_the_served_page_post_uploads(served: Served):
    """CorsAllowedOrigins includes serve's own origin: the playground's presigned POST passes the browser's check."""
    outputs = json.loads((served.events_file.parent / "state" / "outputs.json").read_text())
    headers = {"Origin": served.api_url, "Access-Control-Request-Method": "POST"}
    allowed = requests.options(f"{outputs['AwsEndpointUrl']}/{outputs['BucketName']}", headers=headers, timeout=10)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == served.api_url
    other = {**headers, "Origin": "https://elsewhere.example"}
    refused = requests.options(f"{outputs['AwsEndpointUrl']}/{outputs['BucketName']}", headers=other, timeout=10)
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_events_need_credentials_and_a_rejected_token_says_where_the_current_one_is(served: Served):
    assert requests.get(f"{served.api_url}/local/events", timeout=10).status_code == 401
    stale = requests.get(f"{served.api_url}/v1/swaps/{'0' * 32}", headers={"Authorization": "Bearer x.y.z"}, timeout=10)
    assert stale.status_code == 401
    assert "token.txt" in stale.json()["message"]


def test_a_taken_port_is_a_one_line_error(served: Served):
    port = int(served.api_url.rsplit(":", 1)[1])  # taken by the running server
    completed = subprocess.run(
        [sys.executable, "-m", "faceswap_local", "serve", "--port", str(port), "--aws-port", str(free_port())],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 1
    assert (
        completed.stderr.strip() == f"serve: HTTP API: port {port} on 127.0.0.1 is already in use (choose another port)"
    )


def test_a_receiver_started_from_the_docs_verifies_a_webhook(served: Served, sample_photos: dict[str, Path]):
    """The README's flow: read the secret `make serve` keeps (and prints where), run a receiver on 127.0.0.1, create
    a job with that webhook URL, get a delivery that `standardwebhooks` verifies."""
    from tests.e2e.webhook_receiver import receiver

    secret = served.webhook_secret_file.read_text().strip()
    assert secret.startswith("whsec_") and oct(served.webhook_secret_file.stat().st_mode)[-3:] == "600"
    assert any(str(served.webhook_secret_file) in line for line in served.lines)
    headers = {"Authorization": f"Bearer {served.token}"}
    with receiver([secret]) as rx:
        created = requests.post(
            f"{served.api_url}/v1/swaps",
            json={"target_content_type": "image/png", "webhook": {"url": rx.url}},
            headers=headers,
            timeout=30,
        ).json()
        for role, photo in (("target", "astronaut"), ("template", "grace_hopper")):
            form = created["uploads"][role]
            data = sample_photos[photo].read_bytes()
            requests.post(
                form["url"], data=form["fields"], files={"file": (role, data, form["content_type"])}, timeout=30
            ).raise_for_status()
        (delivery,) = rx.wait_for(1, timeout=90)
    assert delivery.verified_with == [secret]
    assert json.loads(delivery.body)["data"]["job_id"] == created["job_id"]


def test_sigint_stops_the_server_cleanly(served: Served):
    """Last in this module: the server goes away."""
    served.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while served.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.process.poll() == 0, served.output()[-3000:]
    time.sleep(0.2)  # the reader thread drains the last lines
    output = served.output()
    assert "Stopping" in output
    assert "Traceback" not in output
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(served.api_url.rsplit(":", 1)[1])), 1):
        pass
