"""Every fault switch over real HTTP, the rule semantics (times, probability, order) and the admin API."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from faceswap_local.emulator import FaultRule, FaultTable
from urllib3.exceptions import ReadTimeoutError

from tests.integration.emulator.emulator_helpers import make_image, query, submit, wait_for


def _task_id(http, server) -> str:
    return submit(http, server.base_url, make_image(), make_image()).json()["task_id"]


def _result_url(http, server) -> str:
    task_id = _task_id(http, server)
    return wait_for(lambda: query(http, server.base_url, task_id).json().get("data", {}).get("image"))


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("http_429", 429, "EXCEEDING_LIMITS"),
        ("no_credits", 429, "ERROR_NOT_ENOUGH_CREDITS"),
        ("http_500", 500, "SERVICE_INTERNAL_ERROR"),
        ("http_502", 502, "AI_SERVICE_ERROR"),
        ("http_503", 503, "AI_SERVICE_FLOW_RESTRICTION"),
    ],
)
@pytest.mark.parametrize("endpoint", ["submit", "query"])
def test_http_error_faults(server, http, endpoint, fault, status, code):
    task_id = _task_id(http, server) if endpoint == "query" else None
    server.faults.add(endpoint, fault, times=1)
    response = (
        submit(http, server.base_url, make_image(), make_image())
        if endpoint == "submit"
        else query(http, server.base_url, task_id)
    )
    assert response.status_code == status
    assert response.json()["error_detail"]["code"] == code
    assert response.json()["error_code"] == status
    assert server.stats()["faults_injected"] == {fault: 1}
    # A refused submit creates no task (the query case accepted one beforehand).
    assert server.stats()["accepted_submissions"] == (1 if endpoint == "query" else 0)


@pytest.mark.parametrize("endpoint", ["submit", "query", "result"])
def test_malformed_json_html_502_and_reset(server, http, endpoint):
    url = _result_url(http, server)
    task_id = server.stats()["tasks"][0]["task_id"]

    def call() -> requests.Response:
        if endpoint == "submit":
            return submit(http, server.base_url, make_image(), make_image())
        if endpoint == "query":
            return query(http, server.base_url, task_id)
        return requests.get(url, timeout=5)

    server.faults.add(endpoint, "malformed_json", times=1)
    server.faults.add(endpoint, "html_502", times=1)
    server.faults.add(endpoint, "reset", times=1)
    malformed = call()
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    html = call()
    assert (html.status_code, html.headers["Content-Type"]) == (502, "text/html")
    assert b"502 Bad Gateway" in html.content
    with pytest.raises(requests.ConnectionError):
        call()
    assert call().status_code == 200  # all three rules are used up
    assert server.stats()["faults_injected"] == {"malformed_json": 1, "html_502": 1, "reset": 1}


@pytest.mark.parametrize("endpoint", ["submit", "query", "result"])
def test_timeout_fault_sleeps_past_the_read_timeout(server, http, endpoint):
    url = _result_url(http, server)
    task_id = server.stats()["tasks"][0]["task_id"]
    server.faults.add(endpoint, "timeout", times=1, seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        if endpoint == "submit":
            submit(http, server.base_url, make_image(), make_image(), timeout=(1, 0.2))
        elif endpoint == "query":
            query(http, server.base_url, task_id, timeout=(1, 0.2))
        else:
            requests.get(url, timeout=(1, 0.2))
    assert server.stats()["faults_injected"] == {"timeout": 1}


def test_accept_then_timeout_creates_the_task_before_hanging(server, http):
    server.faults.add("submit", "accept_then_timeout", times=1, seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        submit(http, server.base_url, make_image(), make_image(), timeout=(1, 0.3))
    stats = server.stats()
    assert stats["accepted_submissions"] == 1  # charged, although the client never saw the task id
    assert len(stats["tasks"]) == 1


@pytest.mark.parametrize("where", ["submit", "query"])
def test_task_failed_default_and_custom_code(server, http, where):
    server.faults.add(where, "task_failed", times=1)
    server.faults.add(where, "task_failed", times=1, code="ERROR_FACE_COUNT_INVALID")
    first, second = _task_id(http, server), _task_id(http, server)
    for task_id, code in ((first, "ERROR_NO_FACE_IN_FILE"), (second, "ERROR_FACE_COUNT_INVALID")):
        response = query(http, server.base_url, task_id)
        assert response.status_code == 422
        assert response.json()["error_detail"]["code"] == code
    if where == "submit":  # stamped on the task: every later query fails too
        assert query(http, server.base_url, first).status_code == 422
        wait_for(lambda: server.stats()["task_states"] == {"failed": 2})


@pytest.mark.parametrize("where", ["submit", "query"])
def test_task_status_3(server, http, where):
    server.faults.add(where, "task_status_3", times=1)
    task_id = _task_id(http, server)
    # Stamped on submit, status 3 shows once the task is done; on query it answers at once.
    response = wait_for(lambda: (body := query(http, server.base_url, task_id).json())["task_status"] != 1 and body)
    assert response["task_status"] == 3
    assert response["error_code"] == 0


def test_never_finish_keeps_the_task_processing(server, http):
    server.faults.add("submit", "never_finish", times=1)
    stuck, normal = _task_id(http, server), _task_id(http, server)
    wait_for(lambda: query(http, server.base_url, normal).json()["task_status"] == 2)
    assert query(http, server.base_url, stuck).json()["task_status"] == 1
    server.faults.add("query", "never_finish", times=1)
    assert query(http, server.base_url, normal).json()["task_status"] == 1
    assert query(http, server.base_url, normal).json()["task_status"] == 2


def test_result_faults(server, http):
    url = _result_url(http, server)
    normal_bytes = requests.get(url, timeout=5).content
    server.faults.add("result", "result_expired", times=1)
    server.faults.add("result", "result_not_image", times=1)
    server.faults.add("result", "http_503", times=1)
    assert requests.get(url, timeout=5).status_code == 404
    not_image = requests.get(url, timeout=5)
    assert (not_image.status_code, not_image.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert not_image.content.startswith(b"<!DOCTYPE html>")
    assert requests.get(url, timeout=5).status_code == 503
    assert requests.get(url, timeout=5).content == normal_bytes


def test_result_slow_trickles_the_body(server, http):
    url = _result_url(http, server)
    normal_bytes = requests.get(url, timeout=5).content
    chunk = max(1, len(normal_bytes) // 3)
    server.faults.add("result", "result_slow", times=1, chunk_bytes=chunk, delay_seconds=0.2)
    path = "/" + url.split("/", 3)[3]
    with socket.create_connection((server.config.host, int(url.split(":")[2].split("/")[0])), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        first_body = received.split(b"\r\n\r\n", 1)[1]
        assert len(first_body) <= chunk < len(normal_bytes)  # the rest has not been sent yet
        while data := sock.recv(65536):
            received += data
    assert received.split(b"\r\n\r\n", 1)[1] == normal_bytes
    assert server.stats()["faults_injected"] == {"result_slow": 1}


def test_times_probability_and_rule_order():
    table = FaultTable(seed=42)
    table.add("submit", "http_429", times=2)
    table.add("submit", "http_500", probability=0.5)
    fired = [rule.fault if (rule := table.pick("submit")) else None for _ in range(200)]
    assert fired[:2] == ["http_429", "http_429"]
    assert 60 < fired[2:].count("http_500") < 140
    assert set(fired[2:]) == {"http_500", None}
    assert table.pick("query") is None
    same_seed = FaultTable(seed=42)
    same_seed.add("submit", "http_429", times=2)
    same_seed.add("submit", "http_500", probability=0.5)
    assert [r.fault if (r := same_seed.pick("submit")) else None for _ in range(200)] == fired
    table.clear()
    assert table.pick("submit") is None
    assert table.injected()["http_429"] == 2


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("submit:http_429:times=2", FaultRule("submit", "http_429", times=2)),
        (
            "query:task_failed:code=ERROR_FACE_COUNT_INVALID,probability=0.5",
            FaultRule("query", "task_failed", probability=0.5, params={"code": "ERROR_FACE_COUNT_INVALID"}),
        ),
        ("submit:timeout:seconds=1.5:times=1", FaultRule("submit", "timeout", times=1, params={"seconds": 1.5})),
    ],
)
def test_cli_fault_spec(spec, expected):
    assert FaultRule.parse(spec) == expected


@pytest.mark.parametrize(
    "spec", ["submit", "nowhere:http_429", "submit:result_slow", "query:accept_then_timeout", "submit:http_429:times"]
)
def test_invalid_fault_specs_are_refused(spec):
    with pytest.raises(ValueError):
        FaultRule.parse(spec)


def test_faults_over_http(server, http):
    admin = server.base_url + "/__emulator/faults"
    created = requests.post(admin, json={"endpoint": "submit", "fault": "http_429", "times": 1}, timeout=5)
    assert created.status_code == 201
    assert requests.post(admin, json={"rules": [{"endpoint": "query", "fault": "http_500"}]}, timeout=5).ok
    rules = requests.get(admin, timeout=5).json()["rules"]
    assert [(r["endpoint"], r["fault"], r["times"]) for r in rules] == [
        ("submit", "http_429", 1),
        ("query", "http_500", None),
    ]
    assert submit(http, server.base_url, make_image(), make_image()).status_code == 429
    assert requests.get(admin, timeout=5).json()["rules"][0]["fired"] == 1
    bad = requests.post(admin, json={"endpoint": "submit", "fault": "explode"}, timeout=5)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "INVALID_FAULT")
    assert requests.post(admin, data=b"{", timeout=5).status_code == 400
    assert requests.delete(admin, timeout=5).json() == {"rules": []}
    assert query(http, server.base_url, "x").status_code == 404  # http_500 rule is gone
    assert requests.get(server.base_url + "/__emulator/stats", timeout=5).json()["faults_injected"] == {"http_429": 1}


# -- answer quirks: one switch per class of odd-but-meaningful answer ---------------------------------------------


@pytest.mark.parametrize("endpoint", ["submit", "query"])
@pytest.mark.parametrize("field", ["error_detail.code", "error_code_str"])
def test_error_in_200_names_the_error_in_one_field_only(server, http, endpoint, field):
    task_id = _task_id(http, server) if endpoint == "query" else None
    server.faults.add(endpoint, "error_in_200", times=1, code="ERROR_FACE_COUNT_INVALID", field=field)
    response = (
        submit(http, server.base_url, make_image(), make_image())
        if endpoint == "submit"
        else query(http, server.base_url, task_id)
    )
    body = response.json()
    assert response.status_code == 200 and body["error_code"] == 0
    assert "task_status" not in body and "task_id" not in body
    named = body["error_detail"]["code"] if field == "error_detail.code" else body["error_code_str"]
    other = body["error_code_str"] if field == "error_detail.code" else body["error_detail"]["code"]
    assert (named, other) == ("ERROR_FACE_COUNT_INVALID", "")
    assert server.stats()["accepted_submissions"] == (1 if endpoint == "query" else 0)


def test_error_with_payload_and_loose_types(server, http):
    task_id = _task_id(http, server)
    wait_for(lambda: query(http, server.base_url, task_id).json().get("task_status") == 2)
    server.faults.add("query", "error_with_payload", times=1)
    server.faults.add("query", "loose_types", times=1)
    contradictory = query(http, server.base_url, task_id).json()
    assert contradictory["task_status"] == 2 and contradictory["data"]["image"].startswith("http")
    assert contradictory["error_detail"]["code"] == "ERROR_NO_FACE_IN_FILE"
    loose = query(http, server.base_url, task_id).json()
    assert loose["task_status"] == "2.0" and loose["error_code"] == 0.0
    assert isinstance(loose["data"], str) and json.loads(loose["data"])["image"].startswith("http")


def test_non_ascii_task_id_is_queryable(server, http):
    server.faults.add("submit", "non_ascii_task_id", times=1)
    task_id = _task_id(http, server)
    assert task_id.startswith("任务-") and not task_id.isascii()
    assert wait_for(lambda: query(http, server.base_url, task_id).json().get("task_status") == 2)


def test_accept_then_502_charges_and_answers_a_proxy_page(server, http):
    server.faults.add("submit", "accept_then_502", times=1)
    response = submit(http, server.base_url, make_image(), make_image())
    assert (response.status_code, response.headers["Content-Type"]) == (502, "text/html")
    assert server.stats()["accepted_submissions"] == 1 and len(server.stats()["tasks"]) == 1


def test_headers_then_stall_sends_headers_and_no_body(server, http):
    url = _result_url(http, server)
    server.faults.add("result", "headers_then_stall", times=1, seconds=2)
    with requests.get(url, stream=True, timeout=(2, 0.5)) as response:
        assert response.status_code == 200 and int(response.headers["Content-Length"]) > 0
        with pytest.raises(ReadTimeoutError):
            response.raw.read(10)
    assert server.stats()["faults_injected"] == {"headers_then_stall": 1}
