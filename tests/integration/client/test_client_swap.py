"""`faceswap swap` against the fake API: create, upload with the presigned forms, start, wait, download, verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.integration.client.fake_faceswap_api import RESULT_BYTES, FakeServer

FAST = ("--poll-interval", "0.02")


def test_happy_path_downloads_the_result_and_prints_its_sha256(api: FakeServer, photos, tmp_path: Path, faceswap):
    target, template = photos
    output = tmp_path / "out" / "result.png"
    run = faceswap(
        "swap",
        str(target),
        str(template),
        "-o",
        str(output),
        "--api",
        api.url,
        *FAST,
        "--client-reference",
        "order-4711",
    )
    assert run.code == 0, run.err
    assert output.read_bytes() == RESULT_BYTES
    (job_id,) = api.state.jobs
    assert run.out == f"job_id={job_id} sha256={hashlib.sha256(RESULT_BYTES).hexdigest()}\n"
    job = api.state.jobs[job_id]
    # Content types come from the files' magic bytes; the uploads arrived intact, fields first and file last.
    assert job.content_types == {"target": "image/jpeg", "template": "image/png"}
    assert job.uploads == {"target": target.read_bytes(), "template": template.read_bytes()}
    assert all(parts[-1] == "file" and "key" in parts[:-1] for parts in api.state.upload_parts)
    assert job.starts == 1 and job.client_reference == "order-4711"
    # Non-TTY progress: one line per status change.
    statuses = [line.split(": ")[1].split(" (")[0] for line in run.err.splitlines()]
    assert statuses == ["queued", "processing", "succeeded"]
    api_calls = [r for r in api.state.requests if r["path"].startswith("/v1/")]
    assert all(r["headers"]["Authorization"] == "Bearer good-token" for r in api_calls)


def test_json_output_describes_the_result(api: FakeServer, photos, tmp_path: Path, faceswap):
    output = tmp_path / "result.png"
    run = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, *FAST, "--json", "-q")
    assert run.code == 0, run.err
    printed = json.loads(run.out)
    assert printed["sha256"] == hashlib.sha256(RESULT_BYTES).hexdigest()
    assert printed["size"] == len(RESULT_BYTES) and printed["output"] == str(output)
    assert run.err == ""


def test_no_wait_starts_the_job_and_returns(api: FakeServer, photos, tmp_path: Path, faceswap):
    output = tmp_path / "result.png"
    run = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, "--no-wait")
    assert run.code == 0, run.err
    (job,) = api.state.jobs.values()
    assert run.out == f"job_id={job.job_id} status=queued\n"
    assert job.starts == 1 and job.polls == 0
    assert not output.exists()


def test_timeout_exits_6_and_names_the_job(api: FakeServer, photos, tmp_path: Path, faceswap):
    api.state.behaviour.outcome = "never_finish"
    run = faceswap(
        "swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", api.url, *FAST, "--timeout", "0.3"
    )
    assert run.code == 6
    (job_id,) = api.state.jobs
    assert "timed out" in run.err and job_id in run.err
    assert run.out == f"job_id={job_id} status=processing\n"


def test_failed_job_exits_1_with_its_error_code_and_message(api: FakeServer, photos, tmp_path: Path, faceswap):
    api.state.behaviour.outcome = "fail"
    output = tmp_path / "r.png"
    run = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, *FAST)
    assert run.code == 1
    assert "FACE_NOT_FOUND: No face was found in the template image." in run.err
    assert "error_code=FACE_NOT_FOUND" in run.out
    assert not output.exists()


def test_invalid_local_image_exits_2_before_any_request(api: FakeServer, photos, tmp_path: Path, faceswap):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("this is text, not a JPEG")
    run = faceswap("swap", str(not_an_image), str(photos[1]), "-o", str(tmp_path / "r.png"), "--api", api.url)
    assert run.code == 2
    assert "not a JPEG or PNG" in run.err and "notes.jpg" in run.err
    assert api.state.requests == [] and api.state.jobs == {}


def test_missing_and_empty_files_exit_2(api: FakeServer, photos, tmp_path: Path, faceswap):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    missing = faceswap("swap", str(tmp_path / "nope.jpg"), str(photos[1]), "-o", "r.png", "--api", api.url)
    assert missing.code == 2 and "no such file" in missing.err
    empty_run = faceswap("swap", str(photos[0]), str(empty), "-o", "r.png", "--api", api.url)
    assert empty_run.code == 2 and "empty" in empty_run.err
    assert api.state.jobs == {}


def test_corrupt_download_exits_7_and_writes_nothing(api: FakeServer, photos, tmp_path: Path, faceswap):
    api.state.behaviour.corrupt_sha256 = True
    output = tmp_path / "r.png"
    run = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, *FAST)
    assert run.code == 7
    assert "corrupt" in run.err
    assert list(tmp_path.glob("*r.png*")) == []


def test_expired_result_url_is_refreshed_once(api: FakeServer, photos, tmp_path: Path, faceswap):
    api.state.behaviour.expire_first_download = True
    output = tmp_path / "r.png"
    run = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, *FAST)
    assert run.code == 0, run.err
    assert output.read_bytes() == RESULT_BYTES and api.state.downloads == 2


def test_bad_token_exits_4(api: FakeServer, photos, tmp_path: Path, faceswap):
    run = faceswap("swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", api.url, token="expired")
    assert run.code == 4
    assert "HTTP 401" in run.err and "Unauthorized" in run.err


def test_no_credentials_at_all_exits_4(api: FakeServer, photos, tmp_path: Path, faceswap):
    run = faceswap("swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", api.url, token=None)
    assert run.code == 4
    assert "no AWS credentials" in run.err
    unauthenticated = faceswap("status", "0" * 32, "--api", api.url, "--auth", "none", token=None)
    assert unauthenticated.code == 4 and "UNAUTHENTICATED" in unauthenticated.err


def test_api_unreachable_exits_7(photos, tmp_path: Path, faceswap):
    with FakeServer() as stopped:
        url = stopped.url
    run = faceswap("swap", *map(str, photos), "-o", str(tmp_path / "r.png"), "--api", url)
    assert run.code == 7
    assert "cannot connect" in run.err


def test_same_idempotency_key_resumes_the_same_job(api: FakeServer, photos, tmp_path: Path, faceswap):
    output = tmp_path / "r.png"
    key = ("--idempotency-key", "batch-42-photo-7")
    first = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, "--no-wait", *key)
    assert first.code == 0, first.err
    second = faceswap("swap", *map(str, photos), "-o", str(output), "--api", api.url, *FAST, *key)
    assert second.code == 0, second.err
    (job,) = api.state.jobs.values()
    assert second.out.startswith(f"job_id={job.job_id} sha256=")
    assert job.starts == 1 and len(api.state.upload_parts) == 2  # the replay neither uploads nor starts again
    assert output.read_bytes() == RESULT_BYTES
