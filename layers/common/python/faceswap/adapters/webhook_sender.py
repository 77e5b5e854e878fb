"""One webhook attempt: POST the signed body to the receiver, safely.

The destination is checked again at delivery time: the host is resolved once, EVERY address must be public
(faceswap.domain.addresses; loopback only with `allow_insecure_local`), and the connection goes to the vetted address
(a pinned adapter: no second DNS lookup, so a host that now resolves to a private address is refused, and one that
changes its answer between check and connect cannot redirect us). Host header, TLS SNI and certificate checks use
the name. Redirects are never followed, proxies never used. Nothing here logs the URL's path or query, the body or the
headers: the URL may carry the receiver's token, the body a presigned URL, the headers the signatures.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from faceswap.adapters.safe_fetch import install_log_redaction, pinned_adapter_class
from faceswap.domain.addresses import address_refusal, ip_literal, is_loopback
from faceswap.domain.errors import ApiError
from faceswap.domain.webhook_urls import webhook_host
from faceswap.domain.webhooks import OUTCOME_REFUSED, OUTCOME_RETRY, classify

Resolver = Callable[[str, int], Sequence[str]]
CONNECT_TIMEOUT_SECONDS = 3.05
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class AttemptResult:
    outcome: str  # faceswap.domain.webhooks OUTCOME_*
    status_code: int | None
    error: str | None  # safe to log and to show: never the URL's path or query


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float = 10.0,
    allow_insecure_local: bool = False,
    resolver: Resolver | None = None,
) -> AttemptResult:
    import requests

    try:
        host = webhook_host(url, allow_insecure_local=allow_insecure_local)
    except ApiError as error:
        return AttemptResult(OUTCOME_REFUSED, None, error.message)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS[scheme]
    literal = ip_literal(host.strip("[]"))
    if literal is not None:
        addresses: Sequence[str] = [literal]
    else:
        try:
            addresses = list((resolver or system_resolver)(host, port))
        except OSError:
            return AttemptResult(OUTCOME_RETRY, None, f"cannot resolve {host}")
        if not addresses:
            return AttemptResult(OUTCOME_RETRY, None, f"{host} resolved to no address")
    for address in addresses:
        reason = address_refusal(address, allow_loopback=allow_insecure_local)
        if reason:
            return AttemptResult(OUTCOME_REFUSED, None, f"refusing {host}: {reason}")
    if scheme == "http" and not all(is_loopback(address) for address in addresses):
        return AttemptResult(OUTCOME_REFUSED, None, f"refusing {host}: http is only allowed to loopback")

    install_log_redaction()
    bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
    host_header = bracketed if port == _DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
    prepared = requests.Request("POST", url, data=body, headers={**headers, "Host": host_header}).prepare()
    # IPv4 first: Lambda functions outside a dual-stack VPC have no IPv6 route.
    ordered = sorted(dict.fromkeys(addresses), key=lambda address: ":" in address)
    last_error = "no address"
    for address in ordered:
        adapter = pinned_adapter_class()(address, None if literal else host)
        try:
            response = adapter.send(
                prepared, stream=True, timeout=(CONNECT_TIMEOUT_SECONDS, timeout), verify=True, proxies={}
            )
        except requests.exceptions.SSLError:
            adapter.close()
            return AttemptResult(OUTCOME_RETRY, None, f"TLS verification failed for {host}")
        except requests.exceptions.ConnectTimeout:
            adapter.close()
            last_error = f"connection to {host} timed out"
            continue
        except requests.exceptions.ConnectionError as error:
            adapter.close()
            last_error = f"cannot connect to {host}"
            if _never_connected(error):
                continue
            return AttemptResult(OUTCOME_RETRY, None, f"{type(error).__name__} from {host}")
        except requests.exceptions.Timeout:
            adapter.close()
            return AttemptResult(OUTCOME_RETRY, None, f"{host} did not answer within {timeout:g} s")
        except requests.RequestException as error:
            adapter.close()
            return AttemptResult(OUTCOME_RETRY, None, f"{type(error).__name__} from {host}")
        status = response.status_code
        response.close()
        adapter.close()
        outcome = classify(status)
        error_text = None if outcome != OUTCOME_RETRY else f"{host} answered {status}"
        if 300 <= status <= 399:
            error_text = f"{host} answered {status} (redirects are not followed)"
        return AttemptResult(outcome, status, error_text)
    return AttemptResult(OUTCOME_RETRY, None, last_error)


def _never_connected(error: Exception) -> bool:
    from urllib3.exceptions import NewConnectionError

    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)
