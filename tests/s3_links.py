"""Checks for every S3 link the service hands out (presigned upload forms, presigned result URLs, and any link added
later): it names the bucket's regional virtual-hosted address and carries a SigV4 signature, scoped to that region,
that verifies with the signer's secret key.

A link to the global `s3.amazonaws.com` works in us-east-1 only: newer regions answer 400 and the others a 307 that a
browser's cross-origin POST does not follow. A signature scoped to another region than the host's is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def regional_host(bucket: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{bucket}.s3.{region}.{suffix}"


def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _check_scope(credential: str, region: str) -> str:
    """The credential is `<access key>/<date>/<region>/s3/aws4_request`; returns the date."""
    parts = credential.split("/")
    assert len(parts) == 5, f"malformed SigV4 credential {credential!r}"
    _, date, scope_region, service, terminator = parts
    assert (scope_region, service, terminator) == (region, "s3", "aws4_request"), (
        f"SigV4 scope {credential!r} does not match region {region} / s3"
    )
    return date


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def assert_regional_presigned_url(url: str, *, bucket: str, region: str, secret_key: str, method: str = "GET") -> None:
    """A query-string presigned URL: regional virtual-hosted host, region-scoped SigV4 that verifies."""
    parts = urlsplit(url)
    assert parts.scheme == "https", f"{url} is not https"
    assert parts.hostname == regional_host(bucket, region), f"{parts.hostname} is not {regional_host(bucket, region)}"
    assert parts.port is None, url
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    assert params.get("X-Amz-Algorithm") == ALGORITHM, f"not SigV4: {sorted(params)}"
    date = _check_scope(params["X-Amz-Credential"], region)
    assert params["X-Amz-Date"].startswith(date), "X-Amz-Date and the credential's date differ"
    signed_headers = params["X-Amz-SignedHeaders"]
    assert signed_headers == "host", f"a browser or curl cannot send signed headers {signed_headers!r}"
    canonical_query = "&".join(
        f"{_uri_encode(key)}={_uri_encode(value)}" for key, value in sorted(query) if key != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        [
            method,
            parts.path or "/",  # already URI-encoded, and S3 does not encode it twice
            canonical_query,
            f"host:{parts.hostname}\n",
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = "/".join(params["X-Amz-Credential"].split("/")[1:])
    string_to_sign = "\n".join(
        [ALGORITHM, params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    expected = hmac.new(
        _signing_key(secret_key, date, region, "s3"), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, params["X-Amz-Signature"]), f"the SigV4 signature of {url} does not verify"


def assert_regional_post_form(form: dict[str, Any], *, bucket: str, region: str, secret_key: str) -> None:
    """A presigned POST form (`{"url", "fields"}`): regional virtual-hosted URL, region-scoped policy signature."""
    url = form["url"]
    parts = urlsplit(url)
    assert parts.scheme == "https", f"{url} is not https"
    assert parts.hostname == regional_host(bucket, region), f"{parts.hostname} is not {regional_host(bucket, region)}"
    assert parts.path in ("", "/") and parts.port is None, url
    fields = form["fields"]
    assert fields.get("x-amz-algorithm") == ALGORITHM, f"not SigV4: {sorted(fields)}"
    date = _check_scope(fields["x-amz-credential"], region)
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": bucket} in conditions, "the policy does not pin the bucket"
    assert {"x-amz-credential": fields["x-amz-credential"]} in conditions
    assert {"x-amz-algorithm": ALGORITHM} in conditions
    expected = hmac.new(
        _signing_key(secret_key, date, region, "s3"), fields["policy"].encode(), hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, fields["x-amz-signature"]), "the POST policy signature does not verify"


def assert_regional_s3_link(link: str | dict[str, Any], *, bucket: str, region: str, secret_key: str) -> None:
    """Any S3 link we hand out: a presigned URL (str) or a presigned POST form (dict with url and fields)."""
    if isinstance(link, dict):
        assert_regional_post_form(link, bucket=bucket, region=region, secret_key=secret_key)
    else:
        assert_regional_presigned_url(link, bucket=bucket, region=region, secret_key=secret_key)
