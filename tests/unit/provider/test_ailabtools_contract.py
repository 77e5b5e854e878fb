"""The AILabTools adapter passes the provider contract (its HTTP API mocked with `responses`, by its documented
answers: ailabapi envelopes, task_status 0/1/2, error_detail codes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from faceswap.provider.ailabtools import QUERY_PATH, SUBMIT_PATH, AilabClient

from tests.unit.provider.contract import ProviderContract, Scenario

BASE = "https://api.example.test"


def envelope(status: int = 200, code: str = "", **fields: object) -> dict:
    return {
        "request_id": "req-1",
        "error_code": 0 if status == 200 else status,
        "error_msg": code,
        "error_detail": {"status_code": status, "code": code, "message": code},
        **fields,
    }


class AilabHarness:
    secret = "sk-contract-secret-0042"

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock

    def provider(self) -> AilabClient:
        return AilabClient(BASE, lambda: self.secret, connect_timeout=0.5, read_timeout=0.5)

    def arrange(self, scenario: Scenario) -> None:
        submit_url, query_url = BASE + SUBMIT_PATH, BASE + QUERY_PATH
        accepted = envelope(task_type="async", task_id="task-1")
        if scenario is Scenario.FACE_REJECTED:
            self.mock.post(submit_url, status=422, json=envelope(422, "ERROR_NO_FACE_IN_FILE"))
        elif scenario is Scenario.RATE_LIMITED:
            self.mock.post(submit_url, status=429, json=envelope(429, "EXCEEDING_LIMITS"))
        elif scenario is Scenario.LOST_AFTER_SEND:
            self.mock.post(submit_url, body=requests.exceptions.ReadTimeout("read timed out"))
        elif scenario is Scenario.CREDENTIALS_REJECTED:
            self.mock.post(submit_url, status=401, json=envelope(401, "ERROR_USER_NOT_EXISTS"))
        else:
            self.mock.post(submit_url, json=accepted)
        if scenario is Scenario.ACCEPTED:
            self.mock.get(query_url, json=envelope(task_status=1))
            self.mock.get(query_url, json=envelope(task_status=2, data={"image": "https://cdn.example.test/r.jpg"}))
        elif scenario is Scenario.TASK_FAILED:
            self.mock.get(query_url, json=envelope(task_status=3))
        elif scenario is Scenario.TASK_UNKNOWN:
            self.mock.get(query_url, status=404, json=envelope(404, "ERROR_RESOURCE_NOT_FOUND"))
        elif scenario is Scenario.QUERY_UNAVAILABLE:
            self.mock.get(query_url, status=503, json=envelope(503, "SERVICE_INTERNAL_ERROR"))


@pytest.fixture
def harness() -> Iterator[AilabHarness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield AilabHarness(mock)


class TestAilabToolsContract(ProviderContract):
    pass
