"""faceswap.adapters.safe_fetch against real HTTP(S) servers on 127.0.0.1, with stub resolvers for DNS tricks."""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faceswap.adapters.safe_fetch import FetchError, FetchResult, address_refusal, fetch_to, redact_url

from tests.corpus.bad_inputs import jpeg, png

PNG_BODY = png(80, 64)
JPEG_BODY = jpeg(80, 64)
SECRET = "Signature=s3cr3t-signature-value"

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    server: ThreadingHTTPServer
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, *, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def start_server(tls_context: ssl.SSLContext | None = None) -> LocalServer:
    state = LocalServer(server=None)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.seen.append(Seen(self.path, dict(self.headers.items())))
            route = state.routes.get(self.path.split("?")[0])
            if route is None:
                send(self, 404, b"not found", "text/plain")
            else:
                route(self)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls_context is not None:
        tls_context.sni_callback = lambda _sock, name, _ctx: state.sni.append(name)
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    state.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def body(data: bytes, content_type: str | None = "image/png", status: int = 200, **headers: str) -> Route:
    return lambda handler: send(
        handler, status, data, content_type, {k.replace("_", "-"): v for k, v in headers.items()}
    )


def chunked(data: bytes, content_type: str = "image/png", piece: int = 1000) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(data), piece):
            part = data[start : start + piece]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        handler.wfile.write(b"0\r\n\r\n")

    return route


def redirect(location: str, status: int = 302) -> Route:
    return body(b"", None, status, Location=location)


@pytest.fixture(scope="module")
def module_server() -> Iterator[LocalServer]:
    state = start_server()
    yield state
    state.server.shutdown()
    state.server.server_close()


@pytest.fixture
def server(module_server: LocalServer) -> LocalServer:
    module_server.routes.clear()
    module_server.seen.clear()
    return module_server


def fetch(url: str, **options: object) -> tuple[FetchResult, bytes]:
    sink = io.BytesIO()
    options = {
        "max_bytes": 1_000_000,
        "allow_insecure_local": True,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        **options,
    }
    result = fetch_to(url, sink, **options)  # type: ignore[arg-type]
    return result, sink.getvalue()


def fetch_error(url: str, **options: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **options)
    return caught.value


def static_resolver(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda _host, _port: list(addresses)


# ------------------------------------------------------------------------------------------------- happy paths


def test_streams_a_png_with_hash_size_and_redacted_final_url(server: LocalServer) -> None:
    server.routes["/result.png"] = body(PNG_BODY)
    result, written = fetch(server.url(f"/result.png?{SECRET}&Expires=1"))
    assert written == PNG_BODY
    assert result == FetchResult(
        size=len(PNG_BODY),
        sha256=hashlib.sha256(PNG_BODY).hexdigest(),
        content_type="image/png",
        final_url=server.url("/result.png"),
    )
    assert server.seen[0].headers["Accept-Encoding"] == "identity"
    assert server.seen[0].path.endswith(SECRET + "&Expires=1")  # the signature is sent, just never shown


def test_streams_a_chunked_jpeg_without_content_length_in_pieces(server: LocalServer) -> None:
    server.routes["/r"] = chunked(JPEG_BODY, "image/jpeg", piece=500)
    writes: list[int] = []

    class CountingSink(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            writes.append(len(data))
            return super().write(data)

    sink = CountingSink()
    result = fetch_to(server.url("/r"), sink, max_bytes=1_000_000, allow_insecure_local=True, chunk_size=1024)
    assert sink.getvalue() == JPEG_BODY
    assert result.content_type == "image/jpeg"
    assert len(writes) > 1 and max(writes) <= 1024  # streamed, never buffered whole


@pytest.mark.parametrize("declared", [None, "application/octet-stream", "image/jpeg", "IMAGE/PNG; charset=binary"])
def test_body_magic_decides_the_type_when_the_header_is_generic_or_the_other_image_type(
    server: LocalServer, declared: str | None
) -> None:
    server.routes["/r"] = body(PNG_BODY, declared)
    result, _ = fetch(server.url("/r"))
    assert result.content_type == "image/png"


def test_relative_redirects_are_followed_up_to_the_limit(server: LocalServer) -> None:
    server.routes.update(
        {
            "/a": redirect("/b"),
            "/b": redirect(server.url("/c"), 301),
            "/c": redirect("d", 307),
            "/d": body(JPEG_BODY, "image/jpeg"),
        }
    )
    result, written = fetch(server.url(f"/a?{SECRET}"), max_redirects=3)
    assert written == JPEG_BODY
    assert result.final_url == server.url("/d")
    error = fetch_error(server.url("/a"), max_redirects=2)
    assert error.code == "RESULT_INVALID" and "redirects" in error.message


def test_session_headers_are_sent_and_environment_proxies_ignored(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.routes["/r"] = body(PNG_BODY)
    session = requests.Session()
    session.headers["User-Agent"] = "faceswap-archive/1"
    result, _ = fetch(server.url("/r"), session=session)
    assert result.size == len(PNG_BODY)
    assert server.seen[0].headers["User-Agent"] == "faceswap-archive/1"


# ------------------------------------------------------------------------------------------------- content checks


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        (body(b"<html><body>Access denied</body></html>", "text/html"), "declared as 'text/html'"),
        (body(b"<html><body>not an image</body></html>", "image/png"), "not a JPEG or PNG"),  # lying header
        (body(b"GIF89a" + b"\0" * 100, "image/gif"), "image/gif"),
        (body(b"GIF89a" + b"\0" * 100, "image/jpeg"), "not a JPEG or PNG"),
        (body(PNG_BODY, "text/html"), "declared as 'text/html'"),
        (body(b"", "image/png"), "empty"),
        (body(b"\x89PN", "image/png"), "not a JPEG or PNG"),  # shorter than the sniffing window
        (body(PNG_BODY, "image/png", Content_Encoding="gzip"), "gzip"),
        (body(PNG_BODY, "image/png", status=206), "unexpected 206"),
    ],
    ids=["html", "lying-content-type", "gif", "gif-as-jpeg", "png-declared-html", "empty", "short", "gzip", "206"],
)
def test_non_image_content_is_refused(server: LocalServer, route: Route, fragment: str) -> None:
    server.routes["/r"] = route
    error = fetch_error(server.url("/r"))
    assert (error.code, error.retryable) == ("RESULT_INVALID", False)
    assert fragment in error.message


def test_only_the_allowed_types_pass(server: LocalServer) -> None:
    server.routes["/r"] = body(JPEG_BODY, "image/jpeg")
    error = fetch_error(server.url("/r"), allowed_content_types=("image/png",))
    assert error.code == "RESULT_INVALID"


def test_oversized_body_with_content_length_is_refused_before_reading(server: LocalServer) -> None:
    server.routes["/r"] = body(PNG_BODY)
    sink = io.BytesIO()
    with pytest.raises(FetchError) as caught:
        fetch_to(server.url("/r"), sink, max_bytes=len(PNG_BODY) - 1, allow_insecure_local=True)
    assert caught.value.code == "RESULT_INVALID" and "declares" in caught.value.message
    assert sink.getvalue() == b""


def test_oversized_body_without_content_length_is_cut_while_streaming(server: LocalServer) -> None:
    big = PNG_BODY + b"\0" * 200_000
    server.routes["/r"] = chunked(big, piece=4096)
    sink = io.BytesIO()
    with pytest.raises(FetchError) as caught:
        fetch_to(server.url("/r"), sink, max_bytes=50_000, allow_insecure_local=True, chunk_size=4096)
    assert caught.value.code == "RESULT_INVALID" and "larger than 50000" in caught.value.message
    assert len(sink.getvalue()) <= 50_000


def test_exactly_max_bytes_is_allowed(server: LocalServer) -> None:
    server.routes["/r"] = chunked(PNG_BODY)
    result, _ = fetch(server.url("/r"), max_bytes=len(PNG_BODY))
    assert result.size == len(PNG_BODY)


def test_body_shorter_than_its_content_length_is_a_retryable_failure(server: LocalServer) -> None:
    def short(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(PNG_BODY) + 500))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(PNG_BODY)
        handler.close_connection = True

    server.routes["/r"] = short
    error = fetch_error(server.url("/r"))
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)


# ------------------------------------------------------------------------------------------------- statuses, time


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (403, "RESULT_EXPIRED", False),
        (404, "RESULT_EXPIRED", False),
        (410, "RESULT_EXPIRED", False),
        (429, "RESULT_UNAVAILABLE", True),
        (500, "RESULT_UNAVAILABLE", True),
        (502, "RESULT_UNAVAILABLE", True),
        (503, "RESULT_UNAVAILABLE", True),
        (408, "RESULT_UNAVAILABLE", True),
        (400, "RESULT_INVALID", False),
        (401, "RESULT_INVALID", False),
        (204, "RESULT_INVALID", False),
    ],
)
def test_status_codes_are_classified(server: LocalServer, status: int, code: str, retryable: bool) -> None:
    server.routes["/r"] = body(b"<Error>nope</Error>" if status != 204 else b"", "application/xml", status)
    error = fetch_error(server.url("/r"))
    assert (error.code, error.retryable) == (code, retryable)


def test_redirect_without_location_is_refused(server: LocalServer) -> None:
    server.routes["/r"] = body(b"", None, 302)
    assert fetch_error(server.url("/r")).code == "RESULT_INVALID"


def test_slow_response_headers_hit_the_read_timeout(server: LocalServer) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.8)
        send(handler, 200, PNG_BODY, "image/png")

    server.routes["/r"] = slow
    error = fetch_error(server.url("/r"), read_timeout=0.2)
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)


def test_slow_body_hits_the_read_timeout(server: LocalServer) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(PNG_BODY)))
        handler.end_headers()
        handler.wfile.write(PNG_BODY[:100])
        handler.wfile.flush()
        time.sleep(0.8)
        handler.wfile.write(PNG_BODY[100:])

    server.routes["/r"] = stall
    error = fetch_error(server.url(f"/r?{SECRET}"), read_timeout=0.2)
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)
    assert SECRET not in "".join(traceback.format_exception(error))


def test_trickling_body_hits_the_total_timeout_although_each_read_is_quick(server: LocalServer) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(PNG_BODY[:16])
        try:
            for _ in range(40):
                handler.wfile.write(b"\0")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass  # the client gave up

    server.routes["/r"] = trickle
    error = fetch_error(server.url("/r"), read_timeout=1.0, total_timeout=0.5)
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)
    assert "too long" in error.message


def _stall_after(seconds: float, *, headers: bool) -> Route:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        if headers:
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(PNG_BODY)))
            handler.end_headers()
            handler.wfile.flush()
        time.sleep(seconds)

    return stall


@pytest.mark.parametrize("headers", [True, False], ids=["headers-then-stall", "no-headers"])
def test_one_total_deadline_bounds_a_stalled_download_whatever_the_read_timeout(
    server: LocalServer, headers: bool
) -> None:
    # Each socket read may wait at most what is left of the total deadline, not a whole read timeout.
    server.routes["/r"] = _stall_after(6.0, headers=headers)
    started = time.monotonic()
    error = fetch_error(server.url("/r"), read_timeout=30.0, total_timeout=0.5)
    elapsed = time.monotonic() - started
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)
    assert elapsed < 3.0, f"held for {elapsed:.1f} s, past the 0.5 s total deadline"


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{free_port}/r?{SECRET}")
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)
    assert SECRET not in "".join(traceback.format_exception(error))


def test_resolver_failure_is_retryable() -> None:
    def failing(_host: str, _port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution")

    error = fetch_error("https://results.example.com/r.png", resolver=failing)
    assert (error.code, error.retryable) == ("RESULT_UNAVAILABLE", True)
    assert fetch_error("https://results.example.com/r.png", resolver=static_resolver()).retryable


# ------------------------------------------------------------------------------------------------- addresses, schemes


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/r.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "//127.0.0.1/r.png",
        "r.png",
        "javascript:alert(1)",
        "https://",
        "https://[fe80::1%25eth0]/r.png",
        "https://host:99999/r.png",
    ],
)
def test_malformed_and_non_http_urls_are_refused(url: str) -> None:
    error = fetch_error(url, resolver=static_resolver("8.8.8.8"))
    assert (error.code, error.retryable) == ("RESULT_INVALID", False)


def test_https_only_unless_insecure_local(server: LocalServer) -> None:
    server.routes["/r"] = body(PNG_BODY)
    error = fetch_error(server.url("/r"), allow_insecure_local=False)
    assert error.code == "RESULT_INVALID" and "https" in error.message
    # Even with the local switch, http to a public host stays refused (checked before any connection).
    error = fetch_error("http://results.example.com/r.png", resolver=static_resolver("93.184.215.14"))
    assert error.code == "RESULT_INVALID" and "loopback" in error.message
    assert server.seen == []


def test_loopback_is_refused_without_the_local_switch() -> None:
    for url in (
        "https://127.0.0.1/r.png",
        "https://[::1]/r.png",
        "https://2130706433/r.png",
        "https://localhost/r.png",
    ):
        error = fetch_error(url, allow_insecure_local=False)
        assert error.code == "RESULT_INVALID" and "loopback" in error.message, url


def test_user_info_is_refused(server: LocalServer) -> None:
    server.routes["/r"] = body(PNG_BODY)
    error = fetch_error(server.url("/r").replace("http://", "http://user:pw@"))
    assert error.code == "RESULT_INVALID" and "credentials" in error.message
    assert "pw" not in error.message
    assert server.seen == []


def test_non_default_port_is_refused_for_public_hosts() -> None:
    error = fetch_error(
        "https://results.example.com:8443/r.png", resolver=static_resolver("93.184.215.14"), allow_insecure_local=False
    )
    assert error.code == "RESULT_INVALID" and "port" in error.message


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["10.1.2.3"], "private"),
        (["169.254.169.254"], "metadata"),
        (["fd00:ec2::254"], "metadata"),
        (["::ffff:169.254.169.254"], "metadata"),
        (["100.100.100.200"], "carrier-grade NAT"),
        (["127.0.0.1", "192.168.1.10"], "private"),  # mixed: one bad address is enough
        (["93.184.215.14", "10.0.0.1"], "private"),
    ],
)
def test_every_resolved_address_is_checked(server: LocalServer, addresses: list[str], reason: str) -> None:
    server.routes["/r"] = body(PNG_BODY)
    error = fetch_error(f"http://results.test:{server.port}/r", resolver=static_resolver(*addresses))
    assert error.code == "RESULT_INVALID" and reason in error.message
    assert server.seen == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/r.png",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "https://metadata.test/r.png",
        "http://0.0.0.0:{port}/r",
        "ftp://127.0.0.1/r.png",
        "http://user@127.0.0.1:{port}/r",
    ],
)
def test_redirects_to_forbidden_targets_are_refused(server: LocalServer, location: str) -> None:
    server.routes["/start"] = redirect(location.format(port=server.port))
    server.routes["/r"] = body(PNG_BODY)

    def resolver(host: str, _port: int) -> list[str]:
        return ["169.254.169.254"] if host == "metadata.test" else ["127.0.0.1"]

    error = fetch_error(server.url("/start"), resolver=resolver)
    assert (error.code, error.retryable) == ("RESULT_INVALID", False)
    assert [seen.path for seen in server.seen] == ["/start"]


def test_dns_rebinding_cannot_swap_the_vetted_address(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    calls: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    looked_up: list[object] = []
    real_getaddrinfo = socket.getaddrinfo

    def spy(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    server.routes["/r"] = body(PNG_BODY)
    result, written = fetch(f"http://rebind.test:{server.port}/r", resolver=rebinding)
    assert written == PNG_BODY and result.size == len(PNG_BODY)
    assert calls == ["rebind.test"]  # resolved once; the connection used the vetted address
    assert "rebind.test" not in looked_up
    assert server.seen[0].headers["Host"] == f"rebind.test:{server.port}"


def test_each_redirect_hop_is_resolved_and_checked_again(server: LocalServer) -> None:
    server.routes["/start"] = redirect(f"http://second.test:{server.port}/r")
    server.routes["/r"] = body(PNG_BODY)
    calls: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if host == "first.test" else ["10.9.8.7"]

    error = fetch_error(f"http://first.test:{server.port}/start", resolver=resolver)
    assert error.code == "RESULT_INVALID" and "10.9.8.7" in error.message
    assert calls == ["first.test", "second.test"]


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "127.0.0.1",
        "127.255.0.9",
        "0.0.0.0",
        "169.254.169.254",
        "169.254.10.10",
        "169.254.170.2",
        "100.64.0.1",
        "100.127.255.254",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "2001:db8::1",
        "not-an-ip",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


def test_local_switch_only_opens_loopback() -> None:
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("::1", allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "fd00:ec2::254", "0.0.0.0", "192.168.1.1"):
        assert address_refusal(address, allow_loopback=True) is not None


# ------------------------------------------------------------------------------------------------- TLS with pinning


@dataclass(frozen=True)
class Pki:
    ca_path: Path
    cert_path: Path
    key_path: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faceswap test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "result.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("result.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Pki(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths.key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[LocalServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_path, pki.key_path)
    state = start_server(context)
    state.routes["/r.png"] = body(PNG_BODY)
    yield state
    state.server.shutdown()
    state.server.server_close()


def test_https_through_the_pinned_address_keeps_sni_and_certificate_checks(tls_server: LocalServer, pki: Pki) -> None:
    session = requests.Session()
    session.verify = str(pki.ca_path)
    tls_server.sni.clear()
    result, written = fetch(
        f"https://result.test:{tls_server.port}/r.png?{SECRET}", session=session, resolver=static_resolver("127.0.0.1")
    )
    assert written == PNG_BODY and result.final_url == f"https://result.test:{tls_server.port}/r.png"
    assert tls_server.sni == ["result.test"]
    assert tls_server.seen[-1].headers["Host"] == f"result.test:{tls_server.port}"


def test_https_certificate_for_another_name_is_refused(tls_server: LocalServer, pki: Pki) -> None:
    session = requests.Session()
    session.verify = str(pki.ca_path)
    error = fetch_error(
        f"https://other.test:{tls_server.port}/r.png?{SECRET}", session=session, resolver=static_resolver("127.0.0.1")
    )
    assert (error.code, error.retryable) == ("RESULT_INVALID", False)
    assert "TLS" in error.message
    assert SECRET not in "".join(traceback.format_exception(error))


def test_https_with_an_untrusted_certificate_is_refused(tls_server: LocalServer) -> None:
    error = fetch_error(f"https://result.test:{tls_server.port}/r.png", resolver=static_resolver("127.0.0.1"))
    assert error.code == "RESULT_INVALID" and "TLS" in error.message


# ------------------------------------------------------------------------------------------------- secrets in output


def test_query_strings_never_reach_logs_or_errors(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.routes.update(
        {"/a": redirect(f"/b?{SECRET}"), "/b": redirect(f"/c?{SECRET}"), "/c": body(b"", "image/png", 404)}
    )
    error = fetch_error(server.url(f"/a?{SECRET}"))
    assert error.code == "RESULT_EXPIRED"
    assert "following result redirect" in caplog.text
    for text in (caplog.text, str(error), repr(error), "".join(traceback.format_exception(error))):
        assert "s3cr3t" not in text


def test_redact_url() -> None:
    assert redact_url(f"https://u:p@host.example:8443/a/b.png?{SECRET}#frag") == "https://host.example:8443/a/b.png"
    assert redact_url(f"http://[::1]:80/x?{SECRET}") == "http://[::1]:80/x"
    assert redact_url("http://[bad") == "<unparseable URL>"


def test_fetch_error_fields() -> None:
    error = FetchError("RESULT_UNAVAILABLE", "HTTP 503", retryable=True)
    assert (error.code, error.message, error.retryable) == ("RESULT_UNAVAILABLE", "HTTP 503", True)
    assert FetchError("RESULT_INVALID", "x").retryable is False


def test_module_imports_neither_requests_nor_pillow_until_used() -> None:
    code = "import sys, faceswap.adapters.safe_fetch; assert not {'requests', 'PIL', 'urllib3'} & set(sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "layers" / "common" / "python")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
