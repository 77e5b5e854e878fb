"""One webhook attempt over real HTTP on 127.0.0.1: pinned to the vetted address, no redirects, bounded time.

Host names are resolved by an injected resolver (the sender's seam for DNS), so a name can change its answer
between two attempts as a rebinding attacker's would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from faceswap.adapters.webhook_sender import post

from tests.e2e.webhook_receiver import Receiver, receiver

NAME = "hooks.rebind.test"  # does not exist in any real DNS: only the pinned address can make it reachable
HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver([]) as server:
        yield server


class ChangingDns:
    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_connection_is_pinned_and_a_changed_dns_answer_is_refused(rx: Receiver):
    dns = ChangingDns(["127.0.0.1"], ["10.0.0.5"])
    url = f"http://{NAME}:{rx.port}/hook"
    first = post(url, b"{}", HEADERS, allow_insecure_local=True, resolver=dns)
    assert first.outcome == "delivered" and first.status_code == 200
    assert rx.deliveries[0].headers["host"] == f"{NAME}:{rx.port}"  # the name travels in Host, the IP was dialled
    second = post(url, b"{}", HEADERS, allow_insecure_local=True, resolver=dns)
    assert second.outcome == "refused" and "10.0.0.5 is a private address" in second.error
    assert len(rx.deliveries) == 1  # the refused attempt never connected
    assert dns.lookups == [NAME, NAME]  # resolved once per attempt, never again for the connection


@pytest.mark.parametrize(
    "answer", [["10.0.0.5"], ["127.0.0.1", "192.168.1.4"], ["169.254.169.254"], ["::ffff:10.1.2.3"], ["fe80::1"]]
)
def test_any_private_address_in_the_answer_refuses(rx: Receiver, answer):
    result = post(f"http://{NAME}:{rx.port}/x", b"{}", HEADERS, allow_insecure_local=True, resolver=lambda h, p: answer)
    assert result.outcome == "refused" and result.status_code is None
    assert rx.deliveries == []


def test_loopback_and_http_only_with_the_local_setting(rx: Receiver):
    result = post(rx.url, b"{}", HEADERS)
    assert result.outcome == "refused"
    https_loopback = post(f"https://{NAME}/x", b"{}", HEADERS, resolver=lambda h, p: ["127.0.0.1"])
    assert https_loopback.outcome == "refused" and "loopback" in https_loopback.error
    assert rx.deliveries == []


def test_redirects_are_not_followed():
    with receiver([]) as elsewhere, receiver([], [("redirect", elsewhere.url)]) as rx:
        result = post(rx.url, b"{}", HEADERS, allow_insecure_local=True)
        assert result.outcome == "retry" and result.status_code == 302 and "not followed" in result.error
        assert len(rx.deliveries) == 1 and elsewhere.deliveries == []


@pytest.mark.parametrize(("script", "outcome"), [([204], "delivered"), ([410], "gone"), ([503], "retry")])
def test_answers(script, outcome):
    with receiver([], script) as rx:
        result = post(rx.url + "?token=secret-token", b'{"a":1}', HEADERS, allow_insecure_local=True)
    assert result.outcome == outcome and result.status_code == script[0]
    assert rx.deliveries[0].body == b'{"a":1}' and rx.deliveries[0].path == "/hook?token=secret-token"
    assert "secret-token" not in (result.error or "")


def test_slow_receiver_times_out():
    with receiver([], [("sleep", 2, 200)]) as rx:
        result = post(rx.url, b"{}", HEADERS, allow_insecure_local=True, timeout=0.5)
    assert result.outcome == "retry" and result.status_code is None and "within 0.5 s" in result.error


def test_nobody_listening_is_retried():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = post(f"http://127.0.0.1:{port}/x", b"{}", HEADERS, allow_insecure_local=True)
    assert result.outcome == "retry" and result.status_code is None


def test_unresolvable_name_is_retried():
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror("no such name")

    result = post("https://hooks.example.com/x", b"{}", HEADERS, resolver=fail)
    assert result.outcome == "retry" and "cannot resolve hooks.example.com" in result.error
