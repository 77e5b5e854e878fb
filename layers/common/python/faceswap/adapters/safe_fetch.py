"""Stream a provider result URL into a writable sink, safely (SSRF-hardened, bounded, hashed on the fly).

`fetch_to(url, sink, max_bytes=...)` downloads the result image without holding it in memory and returns its size,
sha256 and content type. What it refuses, and why:

- scheme: https only. With ``allow_insecure_local`` (the local stack) http is allowed too, but only when every
  address of the host is loopback (127.0.0.0/8, ::1; so also ``localhost``).
- user-info (``user:pass@host``): refused. No result URL carries credentials, and they hide the real host.
- port: only the scheme's default (443). Result hosts are CDNs on 443; another port smells of SSRF probing. With
  ``allow_insecure_local`` any port on loopback (test servers).
- addresses: EVERY resolved address must be public. Private, loopback, link-local, multicast, reserved, unspecified,
  CGNAT 100.64/10 and cloud metadata (169.254.169.254, fd00:ec2::254, 169.254.170.2, ...) are refused, also when
  embedded in IPv6 (IPv4-mapped, NAT64, 6to4, Teredo).
- DNS rebinding: the host is resolved once per hop and the connection goes to the vetted address (a pinned requests
  adapter), while the Host header, TLS SNI and certificate verification still use the name.
- redirects: followed by hand, at most ``max_redirects``, each hop vetted like the first.
- proxies: never used (proxy environment variables are ignored): a proxy would connect to a name we did not vet.
- status: 200 streams; 403/404/410 -> ``RESULT_EXPIRED``; 408/429/5xx -> ``RESULT_UNAVAILABLE`` (retryable);
  anything else -> ``RESULT_INVALID``.
- content: the declared Content-Type must be an allowed image type (none or ``application/octet-stream`` is
  tolerated); the first bytes must be JPEG/PNG magic of an allowed type whatever the header says (the sniffed type
  is reported); a ``Content-Encoding`` other than identity is refused (no compression bombs).
- size: over ``max_bytes`` is refused from Content-Length before reading, and again while streaming.
- time: ``total_timeout`` bounds the whole fetch (every hop, connect, headers and body): no socket operation may
  wait longer than what is left of it, so a host that sends headers and then stalls, or trickles, is dropped at the
  deadline. ``connect_timeout``/``read_timeout`` additionally bound each single socket operation.

Errors are `FetchError(code, message, retryable)`: ``RESULT_EXPIRED``, ``RESULT_INVALID`` (permanent),
``RESULT_UNAVAILABLE`` (retryable: 5xx, 429, timeouts, connection and DNS failures). URLs in messages, logs and
`FetchResult.final_url` never include the query string or fragment (they carry signatures). On error the sink may
hold a partial download: the caller discards it. Exceptions raised by the sink itself propagate unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from faceswap.domain.addresses import address_refusal, is_loopback
from faceswap.domain.images import sniff_image_type

if TYPE_CHECKING:
    import requests

RESULT_EXPIRED = "RESULT_EXPIRED"
RESULT_INVALID = "RESULT_INVALID"
RESULT_UNAVAILABLE = "RESULT_UNAVAILABLE"

Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"https": 443, "http": 80}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_EXPIRED_STATUSES = frozenset({403, 404, 410})
_GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_SNIFF_BYTES = 16

logger = logging.getLogger(__name__)


class FetchError(Exception):
    """The result could not be fetched; `code` is a job error code, `retryable` says whether to try again."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class FetchResult:
    size: int
    sha256: str
    content_type: str
    final_url: str  # without query string or fragment


@dataclass(frozen=True, slots=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    host_header: str
    addresses: tuple[str, ...]
    is_ip_literal: bool


def redact_url(url: str) -> str:
    """The URL without user-info, query string and fragment: safe to log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for `host` (IPv6 scope ids dropped)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def fetch_to(
    url: str,
    sink: IO[bytes],
    *,
    max_bytes: int,
    allowed_content_types: Iterable[str] = ("image/jpeg", "image/png"),
    allow_insecure_local: bool = False,
    connect_timeout: float = 3.05,
    read_timeout: float = 30.0,
    total_timeout: float = 120.0,
    max_redirects: int = 3,
    session: requests.Session | None = None,
    chunk_size: int = 64 * 1024,
    resolver: Resolver | None = None,
) -> FetchResult:
    """Stream `url` into `sink`. `session` only supplies headers and TLS settings (verify, cert); its adapters and
    proxies are not used. `resolver(host, port) -> addresses` is injectable for tests (default: getaddrinfo)."""
    allowed = frozenset(content_type.lower() for content_type in allowed_content_types)
    resolve = resolver or system_resolver
    deadline = time.monotonic() + total_timeout
    current = url
    for hop in range(max_redirects + 1):
        target = _vet(current, allow_insecure_local=allow_insecure_local, resolver=resolve)
        if hop:
            logger.info("following result redirect to %s", redact_url(current))
        response = _request(target, session, connect_timeout, read_timeout, deadline)
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("Location")
            _close(response)
            if not location:
                raise FetchError(RESULT_INVALID, f"redirect {status} without a Location from {redact_url(current)}")
            current = urljoin(current, location.strip())
            continue
        try:
            return _consume(response, target, sink, max_bytes, allowed, chunk_size, deadline, read_timeout)
        finally:
            _close(response)
    raise FetchError(RESULT_INVALID, f"more than {max_redirects} redirects, last to {redact_url(current)}")


def _close(response: requests.Response) -> None:
    """Close the response and its one-off pinned adapter, so no pooled socket outlives the fetch."""
    response.close()
    response.connection.close()  # requests sets `connection` to the adapter that sent the request


def _vet(url: str, *, allow_insecure_local: bool, resolver: Resolver) -> _Target:
    """Parse and check the URL, resolve it once and check every address; returns what to connect to."""
    if len(url) > MAX_URL_LENGTH:
        raise FetchError(RESULT_INVALID, "the result URL is too long")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(RESULT_INVALID, f"the result URL is malformed: {shown}") from error
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or (scheme == "http" and not allow_insecure_local):
        raise FetchError(RESULT_INVALID, f"only https result URLs are allowed, not {scheme or 'no'} scheme: {shown}")
    if "@" in parts.netloc:
        raise FetchError(RESULT_INVALID, f"credentials in the result URL are refused: {shown}")
    host = parts.hostname or ""
    if not host or "%" in host:
        raise FetchError(RESULT_INVALID, f"the result URL has no usable host: {shown}")
    default_port = _DEFAULT_PORTS[scheme]
    port = default_port if port is None else port

    literal = _ip_literal(host)
    is_ip_literal = literal is not None
    if literal is not None:
        addresses: Sequence[str] = [literal]
    else:
        host = _ascii_host(host, shown)
        try:
            addresses = [str(address).split("%")[0] for address in resolver(host, port)]
        except OSError as error:
            raise FetchError(RESULT_UNAVAILABLE, f"cannot resolve {host}", retryable=True) from error
        if not addresses:
            raise FetchError(RESULT_UNAVAILABLE, f"{host} resolved to no address", retryable=True)

    for address in addresses:
        reason = address_refusal(address, allow_loopback=allow_insecure_local)
        if reason:
            raise FetchError(RESULT_INVALID, f"refusing {shown}: {reason}")
    local = allow_insecure_local and all(is_loopback(address) for address in addresses)
    if scheme == "http" and not local:
        raise FetchError(RESULT_INVALID, f"http is only allowed to loopback in the local stack: {shown}")
    if port != default_port and not local:
        raise FetchError(RESULT_INVALID, f"only the default port is allowed for result URLs: {shown}")

    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if port == default_port else f"{bracketed}:{port}"
    # IPv4 first: Lambda functions outside a dual-stack VPC have no IPv6 route.
    ordered = tuple(sorted(dict.fromkeys(addresses), key=lambda address: ":" in address))
    return _Target(url, scheme, host, host_header, ordered, is_ip_literal)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _ascii_host(host: str, shown: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise FetchError(RESULT_INVALID, f"the result URL has an invalid host name: {shown}") from error


def _remaining(deadline: float, limit: float, shown: str) -> float:
    """The time one socket operation may wait: its own limit, cut to what is left of the total deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(RESULT_UNAVAILABLE, f"the download took too long: {shown}", retryable=True)
    return min(limit, left)


def _request(
    target: _Target,
    session: requests.Session | None,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
) -> requests.Response:
    """Send the GET to a vetted address, trying the next one only when a connection was never established."""
    import requests

    install_log_redaction()
    headers = dict(session.headers) if session is not None else {}
    headers.update({"Accept": "image/jpeg, image/png", "Accept-Encoding": "identity", "Host": target.host_header})
    try:
        prepared = requests.Request("GET", target.url, headers=headers).prepare()
    except requests.RequestException:
        raise FetchError(RESULT_INVALID, f"the result URL is malformed: {redact_url(target.url)}") from None
    verify = session.verify if session is not None else True
    cert = session.cert if session is not None else None
    last_error: Exception | None = None
    for address in target.addresses:
        adapter = pinned_adapter_class()(address, None if target.is_ip_literal else target.host)
        shown = redact_url(target.url)
        timeout = (_remaining(deadline, connect_timeout, shown), _remaining(deadline, read_timeout, shown))
        try:
            response: requests.Response = adapter.send(
                prepared, stream=True, timeout=timeout, verify=verify, cert=cert, proxies={}
            )
            return response
        except requests.exceptions.SSLError:
            raise FetchError(
                RESULT_INVALID, f"TLS verification failed for {redact_url(target.url)}"
            ) from None  # the requests error text would repeat the full URL
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as error:
            last_error = error
            if not _never_connected(error):
                break
        except requests.RequestException as error:  # read timeouts, protocol errors: the request may have arrived
            last_error = error
            break
    kind = type(last_error).__name__ if last_error else "no address"
    raise FetchError(
        RESULT_UNAVAILABLE, f"{kind} while fetching {redact_url(target.url)}", retryable=True
    ) from None  # the cause's message would carry the URL's query string


def _never_connected(error: Exception) -> bool:
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


class _DropQueryStrings(logging.Filter):
    """urllib3 logs every request line at DEBUG, query string included: keep signatures out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] + "?<redacted>" if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


@functools.cache
def install_log_redaction() -> None:
    logging.getLogger("urllib3.connectionpool").addFilter(_DropQueryStrings())


@functools.cache
def pinned_adapter_class() -> type:
    """An HTTPAdapter that connects to one vetted IP while sending Host, SNI and checking the certificate for the
    name: DNS is never consulted again between the check and the connection (no rebinding window)."""
    from requests.adapters import HTTPAdapter

    class PinnedAdapter(HTTPAdapter):
        def __init__(self, address: str, server_hostname: str | None) -> None:
            self._address = address
            self._server_hostname = server_hostname
            super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

        def get_connection_with_tls_context(
            self, request: Any, verify: Any, proxies: Any = None, cert: Any = None
        ) -> Any:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
            if host_params["scheme"] == "https" and self._server_hostname:
                pool_kwargs = {  # type: ignore[typeddict-unknown-key]  # urllib3 accepts them; its stubs lag
                    **pool_kwargs,
                    "server_hostname": self._server_hostname,
                    "assert_hostname": self._server_hostname,
                }
            return self.poolmanager.connection_from_host(
                self._address, port=host_params["port"], scheme=host_params["scheme"], pool_kwargs=pool_kwargs
            )

    return PinnedAdapter


def _consume(
    response: requests.Response,
    target: _Target,
    sink: IO[bytes],
    max_bytes: int,
    allowed: frozenset[str],
    chunk_size: int,
    deadline: float,
    read_timeout: float,
) -> FetchResult:
    shown = redact_url(target.url)
    status = response.status_code
    if status in _EXPIRED_STATUSES:
        raise FetchError(RESULT_EXPIRED, f"the result URL answered {status} (expired or gone): {shown}")
    if status in (408, 429) or 500 <= status <= 599:
        raise FetchError(RESULT_UNAVAILABLE, f"the result URL answered {status}: {shown}", retryable=True)
    if status != 200:
        raise FetchError(RESULT_INVALID, f"the result URL answered an unexpected {status}: {shown}")

    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(RESULT_INVALID, f"the result is {encoding}-encoded; only identity is accepted")
    declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if declared not in allowed and declared not in _GENERIC_CONTENT_TYPES:
        raise FetchError(RESULT_INVALID, f"the result is declared as {declared!r}, not an allowed image type")
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(RESULT_INVALID, f"the result declares {int(length)} bytes; the limit is {max_bytes}")

    digest = hashlib.sha256()
    size = 0
    head = b""
    content_type: str | None = None
    for chunk in _chunks(response, chunk_size, deadline, read_timeout, shown):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(RESULT_INVALID, f"the result is larger than {max_bytes} bytes")
        if content_type is None:  # hold back the first bytes until the magic is known
            head += chunk
            if len(head) < _SNIFF_BYTES:
                continue
            content_type = _sniffed_type(head, allowed)
            chunk, head = head, b""
        digest.update(chunk)
        sink.write(chunk)
    if size == 0:
        raise FetchError(RESULT_INVALID, "the result body is empty")
    if content_type is None:
        content_type = _sniffed_type(head, allowed)
        digest.update(head)
        sink.write(head)
    return FetchResult(size=size, sha256=digest.hexdigest(), content_type=content_type, final_url=shown)


def _set_socket_timeout(raw: Any, seconds: float) -> None:
    """Set the open connection's socket timeout (the read timeout given to requests is fixed per request)."""
    connection = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _sniffed_type(head: bytes, allowed: frozenset[str]) -> str:
    sniffed = sniff_image_type(head[:_SNIFF_BYTES])
    if sniffed is None:
        raise FetchError(RESULT_INVALID, "the result body is not a JPEG or PNG image")
    if sniffed not in allowed:
        raise FetchError(RESULT_INVALID, f"the result body is {sniffed}, which is not allowed")
    return sniffed


def _chunks(
    response: requests.Response, chunk_size: int, deadline: float, read_timeout: float, shown: str
) -> Iterable[bytes]:
    """Raw body pieces as they arrive (read1), each read allowed at most what is left of the total deadline, so
    neither a trickling nor a stalled body can hold the function past it."""
    from urllib3.exceptions import HTTPError as Urllib3Error

    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read
    while True:
        _set_socket_timeout(raw, _remaining(deadline, read_timeout, shown))
        try:
            chunk = read(chunk_size)
        except (Urllib3Error, OSError) as error:
            if time.monotonic() >= deadline:
                raise FetchError(RESULT_UNAVAILABLE, f"the download took too long: {shown}", retryable=True) from None
            raise FetchError(
                RESULT_UNAVAILABLE, f"{type(error).__name__} while reading {shown}", retryable=True
            ) from None  # the cause's message may carry the URL's query string
        if not chunk:
            return
        yield chunk
