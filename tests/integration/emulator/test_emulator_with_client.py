"""AilabClient driving the emulator: the happy path and the classification of every fault."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from faceswap.provider import Photo, ProviderOutcomeUnknown, ProviderPermanentError, ProviderTransientError
from faceswap.provider.ailabtools import AilabClient

from tests.integration.emulator.emulator_helpers import API_KEY, NO_FACE_COLOR, make_image, wait_for

T = ProviderTransientError
P = ProviderPermanentError
U = ProviderOutcomeUnknown


@pytest.fixture
def client(server):
    with AilabClient(server.base_url, lambda: API_KEY, connect_timeout=1, read_timeout=0.3) as client:
        yield client


def _uploads(template_color=(9, 9, 9)) -> tuple[Photo, Photo]:
    return (
        Photo.from_bytes("target", make_image()),
        Photo.from_bytes("template", make_image("PNG", color=template_color)),
    )


def _finish(client, task_id):
    return wait_for(lambda: (r := client.query(task_id)).state == "succeeded" and r)


def test_submit_query_and_fetch_the_result(server, client):
    submitted = client.submit(*_uploads())
    result = _finish(client, submitted.task_id)
    assert result.result_url.startswith(server.base_url + "/results/")
    assert requests.get(result.result_url, timeout=5).headers["Content-Type"] == "image/png"
    assert server.stats()["tasks"][0]["task_id"] == submitted.task_id


def test_face_error_is_permanent_face_not_found(client):
    task_id = client.submit(*_uploads(NO_FACE_COLOR)).task_id
    with pytest.raises(P) as caught:
        wait_for(lambda: client.query(task_id).state == "never")
    assert (caught.value.code, caught.value.job_error_code) == ("ERROR_NO_FACE_IN_FILE", "FACE_NOT_FOUND")


def test_wrong_key_and_bad_images_are_permanent(server, client):
    with pytest.raises(P) as caught:
        AilabClient(server.base_url, "wrong").submit(*_uploads())
    assert caught.value.job_error_code == "PROVIDER_AUTH_FAILED"
    big = Photo("target.png", make_image("PNG", size=(4096, 2)), "image/png")
    with pytest.raises(P) as caught:
        client.submit(big, _uploads()[1])
    assert (caught.value.code, caught.value.job_error_code) == (
        "FILE_RESOLUTION_EXCEEDS_LIMITS",
        "PROVIDER_REJECTED_IMAGE",
    )
    with pytest.raises(P) as caught:
        client.query("1714743372764.fb8fd68b-7f0e-1485-d003-32ee0f854a92")
    assert caught.value.job_error_code == "PROVIDER_TASK_FAILED"


SUBMIT_FAULTS = [
    ("http_429", {}, T, "PROVIDER_UNAVAILABLE"),
    ("no_credits", {}, P, "PROVIDER_NO_CREDITS"),
    ("http_500", {}, T, "PROVIDER_UNAVAILABLE"),
    ("http_502", {}, T, "PROVIDER_UNAVAILABLE"),
    ("http_503", {}, T, "PROVIDER_UNAVAILABLE"),
    ("html_502", {}, U, "PROVIDER_OUTCOME_UNKNOWN"),  # a proxy's 502 may hide an accepted submission
    ("accept_then_502", {}, U, "PROVIDER_OUTCOME_UNKNOWN"),
    ("error_in_200", {}, P, "FACE_NOT_FOUND"),
    ("error_in_200", {"field": "error_code_str", "code": "ERROR_FACE_COUNT_INVALID"}, P, "FACE_COUNT_INVALID"),
    ("timeout", {"seconds": 1.0}, U, "PROVIDER_OUTCOME_UNKNOWN"),
    ("reset", {}, U, "PROVIDER_OUTCOME_UNKNOWN"),
    ("malformed_json", {}, U, "PROVIDER_OUTCOME_UNKNOWN"),
    ("accept_then_timeout", {"seconds": 1.0}, U, "PROVIDER_OUTCOME_UNKNOWN"),
]


@pytest.mark.parametrize(("fault", "params", "error_class", "job_code"), SUBMIT_FAULTS)
def test_submit_fault_classification(server, client, fault, params, error_class, job_code):
    server.faults.add("submit", fault, times=1, **params)
    with pytest.raises(error_class) as caught:
        client.submit(*_uploads())
    assert type(caught.value) is error_class
    assert caught.value.job_error_code == job_code
    assert client.submit(*_uploads()).task_id  # the next call goes through


QUERY_FAULTS = [
    ("http_429", {}, T, "PROVIDER_UNAVAILABLE"),
    ("no_credits", {}, P, "PROVIDER_NO_CREDITS"),
    ("http_500", {}, T, "PROVIDER_UNAVAILABLE"),
    ("http_502", {}, T, "PROVIDER_UNAVAILABLE"),
    ("http_503", {}, T, "PROVIDER_UNAVAILABLE"),
    ("html_502", {}, T, "PROVIDER_UNAVAILABLE"),
    ("timeout", {"seconds": 1.0}, T, "PROVIDER_UNAVAILABLE"),
    ("reset", {}, T, "PROVIDER_UNAVAILABLE"),
    ("malformed_json", {}, T, "PROVIDER_UNAVAILABLE"),
    ("task_failed", {}, P, "FACE_NOT_FOUND"),
    ("task_failed", {"code": "ERROR_FACE_COUNT_INVALID"}, P, "FACE_COUNT_INVALID"),
    ("task_failed", {"code": "ERROR_SMALL_FACE_SIZE"}, P, "FACE_TOO_SMALL"),
    ("task_failed", {"code": "FILE_CONTENT_NON_COMPLIANCE"}, P, "PROVIDER_REJECTED_IMAGE"),
    ("task_status_3", {}, P, "PROVIDER_TASK_FAILED"),
    ("error_in_200", {}, P, "FACE_NOT_FOUND"),
    ("error_in_200", {"field": "error_code_str", "code": "ERROR_SMALL_FACE_SIZE"}, P, "FACE_TOO_SMALL"),
    ("error_with_payload", {"code": "ERROR_FACE_COUNT_INVALID"}, P, "FACE_COUNT_INVALID"),
]


@pytest.mark.parametrize(
    ("endpoint", "fault"), [("submit", "loose_types"), ("query", "loose_types"), ("submit", "non_ascii_task_id")]
)
def test_quirks_that_mean_success_still_succeed(server, client, endpoint, fault):
    server.faults.add(endpoint, fault)
    task_id = client.submit(*_uploads()).task_id
    assert _finish(client, task_id).result_url.startswith("http")
    assert server.stats()["faults_injected"][fault] >= 1


@pytest.mark.parametrize(("fault", "params", "error_class", "job_code"), QUERY_FAULTS)
def test_query_fault_classification(server, client, fault, params, error_class, job_code):
    task_id = client.submit(*_uploads()).task_id
    server.faults.add("query", fault, times=1, **params)
    with pytest.raises(error_class) as caught:
        client.query(task_id)
    assert type(caught.value) is error_class
    assert caught.value.job_error_code == job_code
    assert _finish(client, task_id).result_url  # a later poll still works


def test_never_finish_stays_processing(server, client):
    server.faults.add("submit", "never_finish", times=1)
    task_id = client.submit(*_uploads()).task_id
    assert {client.query(task_id).state for _ in range(5)} <= {"queued", "processing"}


REPO = Path(__file__).resolve().parents[3]


def _cli_env() -> dict[str, str]:
    # Works before `pip install -e .` too.
    paths = [
        str(REPO / "engine"),
        str(REPO / "sdk"),
        str(REPO / "local_stack"),
        str(REPO / "layers/common/python"),
        os.environ.get("PYTHONPATH", ""),
    ]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_cli_starts_a_server_with_faults():
    command = [
        sys.executable,
        "-m",
        "faceswap_local.emulator",
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--processing-seconds",
        "0",
        "--swapper",
        "identity",
        "--fault",
        "submit:http_429:times=1",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_cli_env()) as process:
        try:
            line = process.stdout.readline()
            assert line.startswith("ailab-emulator listening on http://127.0.0.1:")
            base_url = line.split()[-1]
            client = AilabClient(base_url, "cli-key", read_timeout=5)
            with pytest.raises(T):
                client.submit(*_uploads())
            task_id = client.submit(*_uploads()).task_id
            assert _finish(client, task_id).result_url.startswith(base_url)
        finally:
            process.terminate()
            deadline = time.monotonic() + 5
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        assert process.returncode == 0


def test_cli_refuses_bad_fault_specs():
    result = subprocess.run(
        [sys.executable, "-m", "faceswap_local.emulator", "--fault", "submit:explode"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=_cli_env(),
    )
    assert result.returncode == 2
    assert "does not apply to submit" in result.stderr
