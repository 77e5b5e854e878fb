"""`faceswap status`, `delete` and `events`, and the SigV4 signing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from faceswap_client.auth import region_for

from tests.contract.openapi_schemas import component_validator, load_spec
from tests.integration.client.fake_faceswap_api import FakeJob, FakeServer

JOB_ID = "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"
# Job fields the next API version adds (webhook state, provenance): checked against openapi.yaml once it describes
# them, until then by the SDK's own tests.
NEXT_VERSION_FIELDS = {"webhook", "provenance"}


def documented(view: dict, component: str) -> dict:
    known = load_spec()["components"]["schemas"][component]["properties"]
    return {key: value for key, value in view.items() if key in known or key not in NEXT_VERSION_FIELDS}


def add_job(api: FakeServer, status: str) -> FakeJob:
    job = FakeJob(JOB_ID, {"target": "image/jpeg", "template": "image/jpeg"}, None, status=status)
    api.state.jobs[JOB_ID] = job
    return job


def test_status_prints_the_job(api: FakeServer, faceswap):
    add_job(api, "processing")
    api.state.behaviour.outcome = "never_finish"
    run = faceswap("status", JOB_ID, "--api", api.url)
    assert run.code == 0, run.err
    assert run.out.startswith(f"job_id={JOB_ID} status=processing origin=api ")
    as_json = faceswap("status", JOB_ID, "--api", api.url, "--json")
    assert json.loads(as_json.out)["status"] == "processing"


def test_unknown_job_exits_5(api: FakeServer, faceswap):
    run = faceswap("status", JOB_ID, "--api", api.url)
    assert run.code == 5
    assert run.err.startswith("faceswap: JOB_NOT_FOUND: no such job")
    assert run.err.count("\n") == 1


def test_malformed_job_id_exits_2_without_a_request(api: FakeServer, faceswap):
    run = faceswap("status", "not-a-job", "--api", api.url)
    assert run.code == 2 and "not a job id" in run.err
    assert api.state.requests == []


def test_delete(api: FakeServer, faceswap):
    add_job(api, "succeeded")
    run = faceswap("delete", JOB_ID, "--api", api.url)
    assert run.code == 0, run.err
    assert run.out == f"job_id={JOB_ID} status=deleted\n"
    assert JOB_ID not in api.state.jobs


def test_delete_while_processing_exits_3(api: FakeServer, faceswap):
    add_job(api, "processing")
    run = faceswap("delete", JOB_ID, "--api", api.url)
    assert run.code == 3
    assert "JOB_IN_PROGRESS" in run.err
    assert JOB_ID in api.state.jobs


def test_sigv4_signs_requests_when_there_is_no_token(api: FakeServer, faceswap, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-example")
    api.state.behaviour.sigv4_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    add_job(api, "succeeded")
    run = faceswap("status", JOB_ID, "--api", api.url, "--region", "eu-west-1", token=None)
    assert run.code == 0, run.err
    headers = api.state.requests[-1]["headers"]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "session-token-example"


def test_a_wrong_secret_gives_a_bad_signature_and_exit_4(api: FakeServer, faceswap, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    api.state.behaviour.sigv4_secret = "the-real-secret"
    run = faceswap("status", JOB_ID, "--api", api.url, token=None)
    assert run.code == 4 and "signature" in run.err


def test_signed_post_with_a_body_verifies(api: FakeServer, faceswap, monkeypatch, photos, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    api.state.behaviour.sigv4_secret = "secret"
    run = faceswap(
        "swap",
        *map(str, photos),
        "-o",
        str(tmp_path / "r.png"),
        "--api",
        api.url,
        "--no-wait",
        "--idempotency-key",
        "order-4711",
        token=None,
    )
    assert run.code == 0, run.err
    create = next(r for r in api.state.requests if r["path"] == "/v1/swaps")
    assert "idempotency-key" in create["headers"]["Authorization"]


@pytest.mark.parametrize(
    ("url", "explicit", "env", "expected"),
    [
        ("https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod", None, "us-east-1", "ap-southeast-2"),
        ("https://abc123.execute-api.ap-southeast-2.amazonaws.com", "eu-west-1", None, "eu-west-1"),
        ("https://api.example.com", None, "eu-central-1", "eu-central-1"),
        ("http://127.0.0.1:3000", None, None, "us-east-1"),
    ],
)
def test_sigv4_region(url, explicit, env, expected, monkeypatch: pytest.MonkeyPatch):
    if env:
        monkeypatch.setenv("AWS_REGION", env)
    assert region_for(url, explicit) == expected


def test_events_follow_polls_after_the_last_sequence(api: FakeServer, faceswap):
    api.state.behaviour.events_per_poll = 1
    run = faceswap("events", "--follow", "--count", "3", "--poll-interval", "0.02", "--api", api.url)
    assert run.code == 0, run.err
    printed = [json.loads(line) for line in run.out.splitlines()]
    assert [item["seq"] for item in printed] == [1, 2, 3]
    assert printed[0]["event"]["detail-type"] == "FaceSwap Succeeded"
    polled = [r["path"] for r in api.state.requests if r["path"].startswith("/local/events")]
    assert polled == ["/local/events?after=0", "/local/events?after=1", "/local/events?after=2"]


def test_events_filters_by_job_and_stops_without_follow(api: FakeServer, faceswap):
    api.state.add_event("a" * 32)
    api.state.add_event(JOB_ID, "FaceSwap Failed")
    run = faceswap("events", "--job", JOB_ID, "--api", api.url)
    assert run.code == 0, run.err
    (line,) = run.out.splitlines()
    assert json.loads(line)["event"]["detail-type"] == "FaceSwap Failed"


def test_the_client_imports_without_botocore():
    code = "import sys, faceswap_client.cli; assert not [m for m in sys.modules if m.startswith('botocore')]"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": ":".join(sys.path)})


def test_the_fake_api_speaks_the_openapi_contract(api: FakeServer, photos):
    """The client is tested against the documented shapes, not against whatever the fake happens to answer."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer good-token"
    created = session.post(f"{api.url}/v1/swaps", json={"target_content_type": "image/jpeg"}, timeout=5)
    assert created.status_code == 201 and created.headers["Location"].endswith(created.json()["job_id"])
    assert not list(component_validator("CreatedJob").iter_errors(documented(created.json(), "CreatedJob")))
    job_id = created.json()["job_id"]
    for role, path in zip(("target", "template"), photos, strict=True):
        form = created.json()["uploads"][role]
        form["fields"]["Content-Type"] = "image/jpeg"
        api.state.jobs[job_id].content_types[role] = "image/jpeg"
        files = {"file": (path.name, path.read_bytes(), "image/jpeg")}
        assert session.post(form["url"], data=form["fields"], files=files, timeout=5).status_code == 204
    started = session.post(f"{api.url}/v1/swaps/{job_id}/start", timeout=5)
    assert started.status_code == 202
    seen = [started.json()] + [session.get(f"{api.url}/v1/swaps/{job_id}", timeout=5).json() for _ in range(2)]
    assert [job["status"] for job in seen] == ["queued", "processing", "succeeded"]
    for job in seen:
        assert not list(component_validator("Job").iter_errors(documented(job, "Job")))
    listing = session.get(f"{api.url}/v1/swaps", params={"limit": 5}, timeout=5).json()
    assert set(listing) == {"items", "next_cursor"} and listing["items"][0]["job_id"] == job_id
    for job in listing["items"]:
        assert not list(component_validator("Job").iter_errors(documented(job, "Job")))
    missing = session.get(f"{api.url}/v1/swaps/{'f' * 32}", timeout=5)
    assert missing.status_code == 404
    assert not list(component_validator("ErrorResponse").iter_errors(missing.json()))
