"""Which webhook destinations may be registered (checked when a job is created)."""

from __future__ import annotations

import pytest
from faceswap.domain.errors import ApiError
from faceswap.domain.webhook_urls import parse_webhook_request, webhook_host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://hooks.example.com/faceswap", "hooks.example.com"),
        ("https://HOOKS.Example.com:8443/x?token=abc", "hooks.example.com"),
        ("https://xn--bcher-kva.example/hook", "xn--bcher-kva.example"),  # IDN hosts in their ASCII form
        ("https://93.184.216.34/hook", "93.184.216.34"),
        ("https://[2606:4700:4700::1111]/hook", "[2606:4700:4700::1111]"),
    ],
)
def test_accepted(url, host):
    assert webhook_host(url) == host


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https
        "ftp://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",  # credentials
        "https://@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https://10.0.0.1/x",
        "https://172.16.5.4/x",
        "https://192.168.0.10/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/x",
        "https://169.254.170.2/v2/credentials",
        "https://[fe80::1]/x",
        "https://224.0.0.251/x",
        "https://100.100.100.200/x",  # carrier-grade NAT (also a cloud metadata address)
        "https://0.0.0.0/x",
        "https://[::ffff:192.168.0.1]/x",  # IPv4-mapped
        "https://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
        "https://10.1/x",  # shorthand IPv4
        "https://0x7f.1/x",
        "https://167772161/x",
        "https://hooks.example.com:99999/x",
        "https://",
        "https:///path",
        "https://hooks.example.com/ x",
        "https://hooks.example.com/\x00",
        "https://bücher.example/hook",  # raw Unicode: send the IDNA (xn--) form
        "",
        "https://hooks.example.com/" + "a" * 2030,  # 2,056 characters
    ],
)
def test_refused(url):
    with pytest.raises(ApiError) as raised:
        webhook_host(url)
    assert raised.value.code == "INVALID_WEBHOOK_URL" and raised.value.status == 422


def test_length_limit_is_2048_characters():
    base = "https://hooks.example.com/"
    assert webhook_host(base + "a" * (2048 - len(base))) == "hooks.example.com"
    with pytest.raises(ApiError):
        webhook_host(base + "a" * (2049 - len(base)))


def test_local_receivers_only_with_the_local_setting():
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:9000/hook", "https://127.0.0.1/hook"):
        with pytest.raises(ApiError):
            webhook_host(url)
        assert webhook_host(url, allow_insecure_local=True) in ("127.0.0.1", "localhost")
    # The local setting allows loopback, never private networks (a name's http is checked again at delivery).
    for url in ("http://10.0.0.1/hook", "https://10.0.0.1/hook", "http://[fd00::1]/hook"):
        with pytest.raises(ApiError):
            webhook_host(url, allow_insecure_local=True)


def test_events_default_to_both_and_are_checked():
    assert parse_webhook_request({"url": "https://h.example/x"}).events == ("succeeded", "failed")
    assert parse_webhook_request({"url": "https://h.example/x", "events": ["failed"]}).events == ("failed",)
    for bad in ([], ["done"], ["failed", "failed"], "failed", [1]):
        with pytest.raises(ApiError) as raised:
            parse_webhook_request({"url": "https://h.example/x", "events": bad})
        assert raised.value.code == "VALIDATION_ERROR"
    for bad in (None, "https://h.example/x", {"url": "https://h.example/x", "secret": "x"}):
        with pytest.raises(ApiError) as raised:
            parse_webhook_request(bad)
        assert raised.value.code == "VALIDATION_ERROR"
    with pytest.raises(ApiError) as raised:
        parse_webhook_request({"events": ["failed"]})
    assert raised.value.code == "INVALID_WEBHOOK_URL"
