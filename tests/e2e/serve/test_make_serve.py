"""`make serve` as a user runs it: `python -m faceswap_local serve` in its own process on a free port, driven over HTTP
with the `faceswap` CLI (bearer token from the token file, and SigV4 with the printed local IAM user as a second
caller), then stopped with SIGINT."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faceswap_local.stack import REPO

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
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


def _pump(stream: object, lines: list[str], ready: threading.Event) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line.rstrip("\n"))
        if line.startswith("Ready."):
            ready.set()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    token_file, events_file = folder / "token.txt", folder / "events.jsonl"
    webhook_secret_file = folder / "local" / "webhook-secret.txt"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faceswap_local",
            "serve",
            "--port",
            str(port),
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
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_pump, args=(process.stdout, lines, ready), daemon=True).start()
    try:
        if not ready.wait(READY_TIMEOUT):
            pytest.fail("serve did not print Ready.:\n" + "\n".join(lines[-40:]))
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
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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


def test_a_receiver_started_from_the_docs_verifies_a_webhook(served: Served, sample_photos: dict[str, Path]):
    """The README's flow: read the secret `make serve` keeps (and prints where), run a receiver on 127.0.0.1, create
    a job with that webhook URL, get a delivery that `standardwebhooks` verifies."""
    import requests

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
