"""Webhook requests: which destinations a caller may register, checked when the job is created.

A webhook URL must be https, at most 2,048 characters, carry no credentials (user-info) or fragment, and its host
must not be an IP literal in a private, loopback, link-local, multicast, reserved or metadata range. Host names are
not resolved here: they are resolved and checked again at every delivery (the answer can change), and the
connection is pinned to the checked address. With `allow_insecure_local` (the local stack) loopback addresses and
http are allowed; delivery then sends http only when every address of the host is loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from faceswap.domain.addresses import address_refusal, ip_literal, is_loopback
from faceswap.domain.errors import ApiError

MAX_WEBHOOK_URL_LENGTH = 2048
WEBHOOK_EVENTS = ("succeeded", "failed")


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    events: tuple[str, ...]
    host: str

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "events": list(self.events)}


def invalid_url(message: str) -> ApiError:
    return ApiError("INVALID_WEBHOOK_URL", message)


def webhook_host(url: str, *, allow_insecure_local: bool = False) -> str:
    """The URL's host (lower case, IDNA) when the URL may be registered, else ApiError INVALID_WEBHOOK_URL."""
    if not isinstance(url, str) or not url:
        raise invalid_url("webhook.url must be a non-empty string.")
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        raise invalid_url(f"webhook.url is longer than {MAX_WEBHOOK_URL_LENGTH} characters.")
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise invalid_url("webhook.url must be ASCII without spaces or control characters (percent-encode it).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise invalid_url("webhook.url is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise invalid_url("webhook.url must be an https URL.")
    if "@" in parts.netloc:
        raise invalid_url("webhook.url must not contain credentials (user:password@).")
    if parts.fragment or url.endswith("#"):
        raise invalid_url("webhook.url must not contain a fragment (#...).")
    host = (parts.hostname or "").rstrip(".")
    if not host or "%" in host:
        raise invalid_url("webhook.url has no usable host.")
    literal = ip_literal(host)
    if literal is not None:
        reason = address_refusal(literal, allow_loopback=allow_insecure_local)
        if reason:
            raise invalid_url(f"webhook.url must point to a public address: {reason}.")
        local = allow_insecure_local and is_loopback(literal)
        host = f"[{literal}]" if ":" in literal else literal
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise invalid_url("webhook.url has an invalid host name.") from None
        # A name may resolve to loopback: allowed locally here, and delivery checks that it really does.
        local = allow_insecure_local
    if scheme == "http" and not local:
        raise invalid_url("webhook.url must be an https URL.")
    return host


def parse_webhook_request(value: Any, *, allow_insecure_local: bool = False) -> WebhookRequest:
    """The `webhook` member of a request: {"url": str, "events": ["succeeded", "failed"]} (events optional)."""
    if not isinstance(value, dict):
        raise ApiError("VALIDATION_ERROR", 'webhook must be an object: {"url": "https://...", "events": [...]}.')
    unknown = sorted(set(value) - {"url", "events"})
    if unknown:
        raise ApiError("VALIDATION_ERROR", f"webhook: unknown field(s): {', '.join(unknown)[:200]}.")
    if "url" not in value:
        raise invalid_url("webhook.url is required.")
    url = value["url"]
    host = webhook_host(url, allow_insecure_local=allow_insecure_local)
    events = value.get("events", list(WEBHOOK_EVENTS))
    if (
        not isinstance(events, list)
        or not events
        or any(not isinstance(event, str) or event not in WEBHOOK_EVENTS for event in events)
        or len(set(events)) != len(events)
    ):
        raise ApiError("VALIDATION_ERROR", 'webhook.events must be a non-empty list of "succeeded" and/or "failed".')
    ordered = tuple(event for event in WEBHOOK_EVENTS if event in events)
    return WebhookRequest(url=url, events=ordered, host=host)
