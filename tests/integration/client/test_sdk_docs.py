"""The examples of docs/sdk.md run as written (as scripts, against the fake API), so the docs stay true."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faceswap_client import Client

from tests.integration.client.fake_faceswap_api import GOOD_TOKEN, WEBHOOK_SECRET, FakeServer

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sdk.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```python\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(DOCS.read_text()))


def script_env(api: FakeServer, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "FACESWAP_"))}
    env.update(FACESWAP_API=api.url, FACESWAP_TOKEN=GOOD_TOKEN, PYTHONPATH=os.pathsep.join(sys.path), **extra)
    return env


def run_example(name: str, api: FakeServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = cwd / f"{name}.py"
    script.write_text(examples()[name])
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=script_env(api), capture_output=True, text=True, timeout=60
    )


def test_each_example_is_there_and_about_ten_lines():
    found = examples()
    assert set(found) == {"swap", "listing", "receiver"}
    for name, code in found.items():
        statements = [line for line in code.splitlines() if line.strip() and not line.startswith(("import", "from"))]
        assert len(statements) <= 18, name


def test_the_swap_example(api: FakeServer, photos, tmp_path: Path):
    (tmp_path / "target.jpg").write_bytes(photos[0].read_bytes())
    (tmp_path / "template.png").write_bytes(photos[1].read_bytes())
    api.state.behaviour.outcome = "succeed"
    done = run_example("swap", api, tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^saved out/result\.jpg [0-9a-f]{64}$", done.stdout, re.M), done.stdout
    assert (tmp_path / "out" / "result.jpg").exists()
    api.state.behaviour.outcome = "fail"
    refused = run_example("swap", api, tmp_path)
    assert refused.returncode == 0 and "the service refused the photos: FACE_NOT_FOUND" in refused.stdout


def test_the_listing_example(api: FakeServer, photos, tmp_path: Path):
    api.state.behaviour.outcome = "fail"
    with Client(api.url, GOOD_TOKEN) as client:
        failed = []
        for _ in range(3):
            job = client.swap(*photos, wait=False)
            failed.append(client.wait(job, poll_interval=0.01).job_id)
    listed = run_example("listing", api, tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == failed[::-1]
    assert all(line.endswith("FACE_NOT_FOUND") for line in lines[:3])
    assert lines[3] == "3 jobs on this page; the next page: None"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "secrets", [WEBHOOK_SECRET, f"whsec_b2xkLXNlY3JldC1yb3RhdGVkLWF3YXktbm93IQ== {WEBHOOK_SECRET}"]
)
def test_the_receiver_example_verifies_a_delivery(api: FakeServer, photos, tmp_path: Path, secrets: str):
    port = free_port()
    script = tmp_path / "receiver.py"
    script.write_text(examples()["receiver"])
    env = script_env(api, FACESWAP_WEBHOOK_SECRET=secrets, PORT=str(port))
    receiver = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with Client(api.url, GOOD_TOKEN) as client:
            job = client.swap(*photos, webhook=f"http://127.0.0.1:{port}/hook", poll_interval=0.01)
            assert client.get(job).webhook.status == "delivered"  # type: ignore[union-attr]
    finally:
        receiver.terminate()
        output, _ = receiver.communicate(timeout=10)
    (line,) = output.splitlines()
    message_id, kind, job_id, result_url = line.split()
    assert (kind, job_id) == ("faceswap.succeeded", job.job_id) and message_id == f"msg_{job.job_id}"
    assert result_url.startswith(api.url + "/result/")
    assert api.state.deliveries[-1]["code"] == 204
