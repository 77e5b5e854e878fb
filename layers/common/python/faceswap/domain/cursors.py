"""Listing cursors: opaque, and useless to anyone but the caller they were issued to.

A cursor is ``v1.<base64url JSON of the last key>.<base64url HMAC-SHA256>``; the MAC covers the caller, the status
filter and the key, under a key held in Secrets Manager. A cursor that was altered, issued to another caller or for
another filter fails verification (INVALID_CURSOR) before it reaches DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from faceswap.domain.errors import ApiError

_VERSION = "v1"
MAX_CURSOR_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, owner: str, status: str | None, payload: str) -> bytes:
    message = json.dumps([_VERSION, owner, status or "", payload], separators=(",", ":")).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def encode_cursor(last_key: dict[str, str], *, owner: str, status: str | None, key: bytes) -> str:
    payload = _b64(json.dumps({"j": last_key["job_id"], "c": last_key["created_at"]}, separators=(",", ":")).encode())
    return f"{_VERSION}.{payload}.{_b64(_mac(key, owner, status, payload))}"


def decode_cursor(cursor: str, *, owner: str, status: str | None, key: bytes) -> dict[str, str]:
    """The index key to continue from, or ApiError INVALID_CURSOR."""
    invalid = ApiError("INVALID_CURSOR", "The cursor is not valid for this listing; start again without one.")
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 2:
        raise invalid
    version, payload, mac = cursor.split(".")
    if version != _VERSION:
        raise invalid
    try:
        given = _unb64(mac)
        fields: Any = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(given, _mac(key, owner, status, payload)):
        raise invalid
    if not isinstance(fields, dict) or not isinstance(fields.get("j"), str) or not isinstance(fields.get("c"), str):
        raise invalid
    return {"job_id": fields["j"], "owner": owner, "created_at": fields["c"]}
