"""The emulator over real HTTP on 127.0.0.1, against the AILabTools contract."""

from __future__ import annotations

import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from tests.integration.emulator.emulator_helpers import (
    CRASH_COLOR,
    NO_FACE_COLOR,
    fake_swapper,
    make_image,
    query,
    submit,
    wait_for,
)

TASK_ID = re.compile(r"^\d{13}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESULT_URL = re.compile(r"^http://127\.0\.0\.1:\d+/results/[0-9a-f-]{36}_\d{10}\.png$")
ENVELOPE_FIELDS = {"request_id", "log_id", "error_code", "error_code_str", "error_msg", "error_detail"}


def _accept(http, server, target=None, template=None) -> str:
    response = submit(http, server.base_url, target or make_image(), template or make_image(color=(9, 9, 9)))
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def _wait_for_failure(http, server, task_id) -> requests.Response:
    # A Response is falsy when it is an error, so wrap it for wait_for.
    (response,) = wait_for(lambda: [r] if (r := query(http, server.base_url, task_id)).status_code != 200 else None)
    return response


def _assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ENVELOPE_FIELDS
    assert body["error_code"] == status
    assert body["error_detail"]["status_code"] == status
    assert body["error_detail"]["code"] == code
    assert body["error_detail"]["code_message"]
    return body


def test_submit_answers_the_superset_envelope_with_an_async_task_id(server, http):
    response = submit(http, server.base_url, make_image(), make_image("PNG"))
    body = response.json()
    assert response.status_code == 200
    assert set(body) >= ENVELOPE_FIELDS
    assert (body["error_code"], body["error_code_str"], body["error_msg"]) == (0, "", "")
    assert body["error_detail"] == {"status_code": 200, "code": "", "code_message": "", "message": ""}
    assert body["task_type"] == "async"
    assert TASK_ID.match(body["task_id"])
    assert server.stats()["accepted_submissions"] == 1


def test_task_progresses_0_1_2_by_elapsed_time_and_serves_the_result_without_key(make_server, http, clock):
    server = make_server(queued_seconds=2, processing_seconds=5, clock=clock)
    target = make_image(color=(10, 20, 30))
    task_id = _accept(http, server, target)

    assert query(http, server.base_url, task_id).json()["task_status"] == 0
    clock.advance(2)
    assert query(http, server.base_url, task_id).json()["task_status"] == 1
    clock.advance(4.9)
    assert query(http, server.base_url, task_id).json()["task_status"] == 1
    clock.advance(0.1)
    body = wait_for(lambda: (b := query(http, server.base_url, task_id).json())["task_status"] == 2 and b)
    assert body["error_code"] == 0
    url = body["data"]["image"]
    assert RESULT_URL.match(url)

    result = requests.get(url, timeout=5)  # no API key: the result host is public
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "image/png"
    assert result.content == fake_swapper(target, make_image())[0]
    with Image.open(io.BytesIO(result.content)) as image:
        assert image.getpixel((0, 0)) == (245, 235, 225)  # inverted (10, 20, 30)


def test_time_scale_shrinks_every_duration(make_server, http, clock):
    server = make_server(queued_seconds=100, processing_seconds=100, time_scale=0.01, clock=clock)
    task_id = _accept(http, server)
    clock.advance(1)
    assert query(http, server.base_url, task_id).json()["task_status"] == 1
    clock.advance(1)
    wait_for(lambda: query(http, server.base_url, task_id).json()["task_status"] == 2)


def test_per_task_processing_time_is_drawn_from_the_seeded_rng(make_server, http, clock):
    draws = []

    def processing_time(rng):
        draws.append(rng.uniform(5, 10))
        return draws[-1]

    server = make_server(processing_time=processing_time, clock=clock, seed=7)
    task_id = _accept(http, server)
    clock.advance(draws[0] - 0.01)
    assert query(http, server.base_url, task_id).json()["task_status"] == 1
    clock.advance(0.02)
    wait_for(lambda: query(http, server.base_url, task_id).json()["task_status"] == 2)


def test_result_url_and_task_expire_after_the_ttl(make_server, http, clock):
    server = make_server(result_ttl_seconds=100, clock=clock)
    task_id = _accept(http, server)
    url = wait_for(lambda: query(http, server.base_url, task_id).json().get("data", {}).get("image"))
    clock.advance(99)
    assert requests.get(url, timeout=5).status_code == 200
    clock.advance(1)
    assert requests.get(url, timeout=5).status_code == 404
    _assert_error(query(http, server.base_url, task_id), 404, "ERROR_RESOURCE_NOT_FOUND")
    assert server.stats()["tasks"][0]["result_sha256"]  # the record outlives the file


def test_face_error_from_the_swapper_answers_the_query_with_422(server, http):
    task_id = _accept(http, server, template=make_image(color=NO_FACE_COLOR))
    response = _wait_for_failure(http, server, task_id)
    body = _assert_error(response, 422, "ERROR_NO_FACE_IN_FILE")
    assert body["error_detail"]["message"] == "no face in template"
    assert body["error_code_str"] == "FILE_CONTENT_NON_COMPLIANCE"
    assert server.stats()["task_states"] == {"failed": 1}


def test_swapper_crash_answers_500_processing_failure(server, http):
    task_id = _accept(http, server, template=make_image(color=CRASH_COLOR))
    response = _wait_for_failure(http, server, task_id)
    _assert_error(response, 500, "PROCESSING_FAILURE")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"ailabapi-api-key": ""}, "ERROR_USER_NOT_EXISTS"),
        ({"ailabapi-api-key": "wrong"}, "ERROR_APPLICATIONS_NOT_EXISTS"),
    ],
)
def test_auth_is_checked_on_submit_and_query(server, headers, code):
    with requests.Session() as session:
        session.headers.update(headers)
        _assert_error(submit(session, server.base_url, make_image(), make_image()), 401, code)
        _assert_error(query(session, server.base_url, "1.x"), 401, code)
    assert server.stats()["accepted_submissions"] == 0


def test_accept_any_key(make_server):
    server = make_server(accept_any_key=True)
    with requests.Session() as session:
        session.headers["ailabapi-api-key"] = "anything"
        assert submit(session, server.base_url, make_image(), make_image()).status_code == 200


def _truncated_jpeg() -> bytes:
    data = make_image(size=(256, 256))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("target", "template", "status", "code"),
    [
        (None, make_image(), 400, "MISSING_PARAMETERS"),
        (make_image(), None, 400, "MISSING_PARAMETERS"),
        (b"", make_image(), 400, "MISSING_PARAMETERS"),
        (make_image("GIF"), make_image(), 415, "UNSUPPORTED_FILE_TYPES"),
        (make_image(), b"<html>hello</html>", 415, "UNSUPPORTED_FILE_TYPES"),
        (b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), make_image(), 413, "FILE_SIZE_EXCEEDS_LIMIT"),
        (make_image("PNG", size=(4096, 1)), make_image(), 413, "FILE_RESOLUTION_EXCEEDS_LIMITS"),
        (make_image(), make_image("PNG", size=(1, 4096)), 413, "FILE_RESOLUTION_EXCEEDS_LIMITS"),
        (_truncated_jpeg(), make_image(), 422, "FILE_DECODING_FAILURE"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, make_image(), 422, "FILE_DECODING_FAILURE"),
    ],
    ids=[
        "no-target",
        "no-template",
        "empty",
        "gif",
        "html",
        "over-5MB",
        "4096-wide",
        "4096-tall",
        "truncated",
        "junk-png",
    ],
)
def test_synchronous_image_checks(server, http, target, template, status, code):
    _assert_error(submit(http, server.base_url, target, template), status, code)
    assert server.stats()["accepted_submissions"] == 0


def test_just_under_the_limits_is_accepted(server, http):
    assert submit(http, server.base_url, make_image("PNG", size=(4095, 1)), make_image()).status_code == 200


def test_query_errors(server, http):
    _assert_error(query(http, server.base_url, None), 400, "MISSING_PARAMETERS")
    _assert_error(
        query(http, server.base_url, "1714743372764.fb8fd68b-7f0e-1485-d003-32ee0f854a92"),
        404,
        "ERROR_RESOURCE_NOT_FOUND",
    )
    assert requests.get(server.base_url + "/results/nope.png", timeout=5).status_code == 404


def test_unknown_path_and_wrong_method(server, http):
    _assert_error(http.get(server.base_url + "/api/nope"), 404, "ERROR_AI_NOT_EXISTS")
    assert http.get(server.base_url + "/api/portrait/editing/ai-face-swap").status_code == 405


def test_stats_record_hashes_and_counters(server, http):
    target, template = make_image(color=(1, 2, 3)), make_image("PNG", color=(4, 5, 6))
    task_id = _accept(http, server, target, template)
    url = wait_for(lambda: query(http, server.base_url, task_id).json().get("data", {}).get("image"))
    result = requests.get(url, timeout=5).content

    stats = server.stats()
    (record,) = stats["tasks"]
    assert record["task_id"] == task_id
    assert record["target_sha256"] == hashlib.sha256(target).hexdigest()
    assert record["template_sha256"] == hashlib.sha256(template).hexdigest()
    assert record["result_sha256"] == hashlib.sha256(result).hexdigest()
    assert record["state"] == "succeeded"
    assert record["created_at"].endswith("Z")
    assert stats["requests"]["submit"] == 1
    assert stats["requests"]["query"] >= 1
    assert stats["requests"]["result"] == 1
    assert stats["results_served"] == 1
    over_http = requests.get(server.base_url + "/__emulator/stats", timeout=5).json()
    assert over_http["accepted_submissions"] == 1
    tasks = requests.get(server.base_url + "/__emulator/tasks", timeout=5).json()["tasks"]
    assert [t["task_id"] for t in tasks] == [task_id]


def test_concurrent_submissions_are_all_accepted_with_distinct_ids(make_server):
    server = make_server(swap_workers=3)

    def one(_: int) -> str:
        with requests.Session() as session:
            session.headers["ailabapi-api-key"] = "test-key"
            return submit(session, server.base_url, make_image(), make_image()).json()["task_id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(16)))
    assert len(set(ids)) == 16
    assert server.stats()["accepted_submissions"] == 16
    wait_for(lambda: server.stats()["task_states"] == {"succeeded": 16})


def test_default_swapper_passes_the_engine_result_or_falls_back(monkeypatch):
    from faceswap_local.emulator import swapper as swapper_module

    target = make_image()
    image, content_type = swapper_module.identity_swapper(target, make_image())
    assert (image, content_type) == (target, "image/jpeg")
    # With the engine unavailable the default swapper still answers (target unchanged).
    monkeypatch.setitem(__import__("sys").modules, "faceengine", None)
    assert swapper_module.engine_swapper(target, make_image()) == (target, "image/jpeg")
