"""`faceswap list`, `faceswap download`, `swap --webhook-url`, and network errors as one plain sentence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from faceswap_client import Client

from tests.integration.client.conftest import WebhookReceiver
from tests.integration.client.fake_faceswap_api import GOOD_TOKEN, OTHER_TOKEN, RESULT_BYTES, FakeServer

FAST = ("--poll-interval", "0.02")


def create_jobs(api: FakeServer, count: int, token: str = GOOD_TOKEN) -> list[str]:
    with Client(api.url, token) as client:
        return [client.create(client_reference=f"ref-{n}").job_id for n in range(count)]


def test_list_prints_the_newest_jobs_and_how_to_get_more(api: FakeServer, faceswap):
    created = create_jobs(api, 25)
    create_jobs(api, 2, OTHER_TOKEN)
    run = faceswap("list", "--limit", "10", "--api", api.url)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert [line.split()[0] for line in lines] == [f"job_id={job_id}" for job_id in created[::-1][:10]]
    assert "status=awaiting_upload" in lines[0] and "client_reference=ref-24" in lines[0]
    assert run.err.startswith("faceswap: more jobs: faceswap list --cursor ")
    cursor = run.err.split("--cursor ")[1].split()[0]
    rest = faceswap("list", "--all", "--cursor", cursor, "--api", api.url)
    assert rest.code == 0 and rest.err == ""
    assert [line.split()[0] for line in rest.out.splitlines()] == [f"job_id={j}" for j in created[::-1][10:]]


def test_list_all_as_json_lines_with_a_status_filter(api: FakeServer, photos, faceswap):
    create_jobs(api, 3)
    run = faceswap("swap", *map(str, photos), "-o", "unused.png", "--api", api.url, "--no-wait")
    started = run.out.split()[0].removeprefix("job_id=")
    listed = faceswap("list", "--status", "queued", "--all", "--json", "--api", api.url)
    assert listed.code == 0, listed.err
    (job,) = [json.loads(line) for line in listed.out.splitlines()]
    assert job["job_id"] == started and job["status"] == "queued"
    everything = faceswap("list", "--all", "--json", "--api", api.url)
    assert len(everything.out.splitlines()) == 4


def test_a_tampered_cursor_exits_3_with_the_code(api: FakeServer, faceswap):
    run = faceswap("list", "--cursor", "bm90LWEtY3Vyc29y", "--api", api.url)
    assert run.code == 3 and run.err.startswith("faceswap: INVALID_CURSOR: ")


def test_a_no_wait_job_is_downloaded_later(api: FakeServer, photos, tmp_path: Path, faceswap):
    started = faceswap("swap", *map(str, photos), "-o", str(tmp_path / "unused.png"), "--api", api.url, "--no-wait")
    job_id = started.out.split()[0].removeprefix("job_id=")
    output = tmp_path / "later" / "result.png"
    early = faceswap("download", job_id, "-o", str(output), "--api", api.url)
    assert early.code == 3 and "has no result yet" in early.err and not output.exists()
    assert early.out == f"job_id={job_id} status=processing\n"
    late = faceswap("download", job_id, "-o", str(output), "--api", api.url)  # the fake finishes on this poll
    assert late.code == 0, late.err
    assert late.out == f"job_id={job_id} sha256={hashlib.sha256(RESULT_BYTES).hexdigest()}\n"
    assert output.read_bytes() == RESULT_BYTES


def test_download_of_a_failed_job_exits_1(api: FakeServer, photos, tmp_path: Path, faceswap):
    api.state.behaviour.outcome = "fail"
    started = faceswap("swap", *map(str, photos), "-o", str(tmp_path / "x.png"), "--api", api.url, "--no-wait")
    job_id = started.out.split()[0].removeprefix("job_id=")
    faceswap("status", job_id, "--api", api.url)
    run = faceswap("download", job_id, "-o", str(tmp_path / "r.png"), "--api", api.url)
    assert run.code == 1 and "FACE_NOT_FOUND" in run.err
    assert run.out == f"job_id={job_id} status=failed error_code=FACE_NOT_FOUND\n"


def test_swap_with_a_webhook_url_delivers_a_verified_webhook(
    api: FakeServer, photos, tmp_path: Path, faceswap, receiver: WebhookReceiver
):
    run = faceswap(
        "swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", api.url, *FAST, "--webhook-url", receiver.url
    )
    assert run.code == 0, run.err
    job_id = run.out.split()[0].removeprefix("job_id=")
    (event,) = receiver.verified
    assert event.job_id == job_id and event.type == "faceswap.succeeded"
    status = json.loads(faceswap("status", job_id, "--api", api.url, "--json").out)
    assert status["webhook"]["status"] == "delivered" and "url" not in status["webhook"]
    listed = faceswap("list", "--api", api.url)
    assert "webhook=delivered" in listed.out


def test_a_refused_webhook_url_exits_3_before_any_upload(api: FakeServer, photos, tmp_path: Path, faceswap):
    run = faceswap(
        "swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", api.url, "--webhook-url", "http://10.0.0.1/"
    )
    assert run.code == 3 and run.err.startswith("faceswap: INVALID_WEBHOOK_URL: ")
    assert api.state.upload_parts == []


def test_network_errors_are_one_plain_sentence(photos, tmp_path: Path, faceswap):
    with FakeServer() as stopped:
        url = stopped.url
    for args in (("status", "0" * 32), ("list",), ("swap", *map(str, photos), "-o", str(tmp_path / "r.png"))):
        run = faceswap(*args, "--api", url)
        assert run.code == 7
        assert (
            run.err
            == f"faceswap: cannot connect to the API at {url}: the connection was refused (is the server running?)\n"
        )
        for internal in ("urllib3", "HTTPConnection", "Max retries", "0x", "Errno"):
            assert internal not in run.err


def test_list_beyond_one_page_asks_for_exactly_what_is_left(api: FakeServer, faceswap):
    created = create_jobs(api, 130)
    run = faceswap("list", "--limit", "120", "--api", api.url)
    assert run.code == 0, run.err
    assert [line.split()[0] for line in run.out.splitlines()] == [f"job_id={j}" for j in created[::-1][:120]]
    listed = [r["path"] for r in api.state.requests if r["method"] == "GET" and r["path"].startswith("/v1/swaps?")]
    assert [path.split("limit=")[1].split("&")[0] for path in listed] == ["100", "20"]
    cursor = run.err.split("--cursor ")[1].split()[0]
    rest = faceswap("list", "--all", "--cursor", cursor, "--api", api.url)
    assert len(rest.out.splitlines()) == 10
