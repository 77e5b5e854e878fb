"""Browser-style POST uploads to the local S3, checked as S3 checks them (moto stores whatever is posted).

A POST of ``multipart/form-data`` to a bucket without an Authorization header is a presigned POST: its SigV4
signature over the policy, the policy's expiry and every condition (exact and ``starts-with`` fields,
``content-length-range``, the bucket) are verified, and no form field may be left uncovered by a condition. A failure
gets S3's XML error and status code; a valid upload passes on to moto unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

# Fields S3 never requires a condition for.
_EXEMPT_FIELDS = {"policy", "x-amz-signature", "file", "signature", "awsaccesskeyid", "x-amz-security-token"}


class PostRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _policy_failed(message: str) -> PostRejected:
    return PostRejected(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_post(
    bucket: str, fields: Mapping[str, str], file_size: int, secrets: Mapping[str, str], now: datetime | None = None
) -> None:
    """Raise PostRejected unless ``fields`` (lower-cased names) and the file satisfy the signed policy."""
    if "key" not in fields:
        raise PostRejected(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    encoded = fields.get("policy")
    if encoded is None:
        raise PostRejected(403, "AccessDenied", "Access Denied")  # anonymous POST; the bucket blocks public access
    _verify_signature(encoded, fields, secrets)
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = policy["conditions"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise PostRejected(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if (now or datetime.now(UTC)) >= expiration:
        raise _policy_failed("Policy expired.")
    values = {**fields, "bucket": bucket}
    covered = {"bucket"}
    for condition in conditions:
        covered.add(_check_condition(condition, values, file_size))
    extra = sorted(name for name in fields if name not in covered and name not in _EXEMPT_FIELDS)
    extra = [name for name in extra if not name.startswith("x-ignore-")]
    if extra:
        raise _policy_failed(f"Extra input fields: {', '.join(extra)}")


def _verify_signature(encoded: str, fields: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    if "awsaccesskeyid" in fields and "signature" in fields:  # signature version 2
        secret = _secret(secrets, fields["awsaccesskeyid"])
        expected = base64.b64encode(hmac.new(secret.encode(), encoded.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, fields["signature"]):
            raise _signature_mismatch()
        return
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise PostRejected(400, "InvalidArgument", "POST requires the x-amz-algorithm field AWS4-HMAC-SHA256.")
    try:
        access_key, date, region, service, _terminator = fields["x-amz-credential"].split("/")
        signature = fields["x-amz-signature"]
    except (KeyError, ValueError):
        raise PostRejected(400, "InvalidArgument", "POST requires x-amz-credential and x-amz-signature.") from None
    secret = _secret(secrets, access_key)
    expected = hmac.new(_signing_key(secret, date, region, service), encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise _signature_mismatch()


def _secret(secrets: Mapping[str, str], access_key: str) -> str:
    secret = secrets.get(access_key)
    if secret is None:
        raise PostRejected(
            403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        )
    return secret


def _signature_mismatch() -> PostRejected:
    return PostRejected(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _check_condition(condition: Any, values: Mapping[str, str], file_size: int) -> str:
    """Check one condition; returns the (lower-case) field it covers."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, expected),) = condition.items()
        condition = ["eq", f"${name}", expected]
    if not isinstance(condition, list) or len(condition) != 3:
        raise PostRejected(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid condition {condition!r}.")
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        low, high = int(condition[1]), int(condition[2])
        if file_size > high:
            raise PostRejected(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        if file_size < low:
            raise PostRejected(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        return "content-length-range"
    field = str(condition[1]).lstrip("$").lower()
    actual, expected = values.get(field, ""), str(condition[2])
    if operator == "eq":
        ok = actual == expected
    elif operator == "starts-with":
        if field == "content-type":  # S3 accepts a comma-separated list of types here
            ok = all(part.strip().startswith(expected) for part in actual.split(","))
        else:
            ok = actual.startswith(expected)
    else:
        raise PostRejected(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid condition operator {operator}.")
    if not ok:
        raise _policy_failed(f"Policy Condition failed: {json.dumps(condition)}")
    return field


def error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message><RequestId>local</RequestId></Error>"
    ).encode()


class PostPolicyMiddleware:
    """WSGI middleware in front of moto's server: checks presigned POST uploads, passes everything else."""

    def __init__(self, app: Callable[..., Iterable[bytes]], secrets: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.secrets = dict(secrets or {"testing": "testing"})  # access key id -> secret, of the local signers

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._is_browser_post(environ):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            self._check(environ, body)
        except PostRejected as rejected:
            content = error_xml(rejected.code, rejected.message)
            status = {400: "400 Bad Request", 403: "403 Forbidden"}[rejected.status]
            start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(content)))])
            return [content]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    @staticmethod
    def _is_browser_post(environ: Mapping[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        return (
            environ.get("REQUEST_METHOD") == "POST"
            and not environ.get("HTTP_AUTHORIZATION")
            and not environ.get("QUERY_STRING")
            and str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data")
            and path.strip("/") != ""
            and "/" not in path.strip("/")  # path-style: /<bucket>
            and not path.startswith("/moto-api")
        )

    def _check(self, environ: Mapping[str, Any], body: bytes) -> None:
        copy = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        try:
            _stream, form, files = parse_form_data(copy, silent=False)
        except Exception:
            raise PostRejected(
                400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
            ) from None
        if "file" not in files:
            if not form:
                raise PostRejected(
                    400,
                    "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.",
                )
            raise PostRejected(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        upload = files["file"]
        size = len(upload.stream.read())
        fields = {name.lower(): value for name, value in form.items()}
        if "key" in fields and upload.filename:
            fields["key"] = fields["key"].replace("${filename}", upload.filename)
        check_post(environ["PATH_INFO"].strip("/"), fields, size, self.secrets)
