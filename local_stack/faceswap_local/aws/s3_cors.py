"""CORS on the local S3 as S3 does it, in front of moto's server (which would let every origin in).

A browser request to a bucket (path-style ``/<bucket>[/<key>]`` with an ``Origin`` header) gets CORS headers only
when one of the bucket's CORS rules allows its origin and its method; a preflight (``OPTIONS``) also needs the
requested headers allowed, and is refused with S3's 403 otherwise. Requests without ``Origin`` pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .s3_post_policy import error_xml

_NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method "
    "/ Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)


def _wildcard(pattern: str, value: str) -> bool:
    """S3's CORS patterns: exact (case-insensitive for headers) or with one ``*`` standing for anything."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.IGNORECASE) is not None


def matching_rule(rules: Iterable[Any], origin: str, method: str, headers: Iterable[str] = ()) -> Any | None:
    """The first rule allowing this origin, method and (preflight) request headers, as S3 picks it."""
    wanted = [header.strip().lower() for header in headers if header.strip()]
    for rule in rules:
        if not any(_wildcard(allowed, origin) for allowed in rule.allowed_origins or []):
            continue
        if method.upper() not in [str(m).upper() for m in rule.allowed_methods or []]:
            continue
        allowed_headers = rule.allowed_headers or []
        if all(any(_wildcard(allowed, header) for allowed in allowed_headers) for header in wanted):
            return rule
    return None


def _bucket(path: str) -> Any | None:
    from moto.s3.models import s3_backends

    name = path.lstrip("/").split("/", 1)[0]
    owner = s3_backends.bucket_accounts.get(name) if name else None  # (partition, account id)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


class S3CorsMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        bucket = _bucket(environ.get("PATH_INFO", "")) if origin else None
        if bucket is None:
            return self.app(environ, start_response)
        rules = list(getattr(bucket, "cors", None) or [])
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self._preflight(environ, origin, rules, start_response)
        rule = matching_rule(rules, origin, environ.get("REQUEST_METHOD", ""))

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            if rule is not None:
                kept += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
                if rule.exposed_headers:
                    kept.append(("Access-Control-Expose-Headers", ", ".join(rule.exposed_headers)))
            return start_response(status, kept, exc_info)

        return self.app(environ, start)

    @staticmethod
    def _preflight(
        environ: dict[str, Any], origin: str, rules: list[Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        rule = matching_rule(rules, origin, method, requested.split(",")) if method else None
        if rule is None:
            body = error_xml("AccessForbidden", _NOT_ALLOWED)
            start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
            ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
            ("Content-Length", "0"),
        ]
        if requested.strip():
            headers.append(("Access-Control-Allow-Headers", requested))
        if rule.max_age_seconds is not None:
            headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
        start_response("200 OK", headers)
        return [b""]
