"""Listing cursors are opaque and bound to their caller and filter."""

from __future__ import annotations

import pytest
from faceswap.domain.cursors import decode_cursor, encode_cursor
from faceswap.domain.errors import ApiError

KEY = b"k" * 32
LAST = {"job_id": "a" * 32, "owner": "jwt:iss#alice", "created_at": "2026-11-28T00:00:00.000Z"}


def test_round_trip():
    cursor = encode_cursor(LAST, owner="jwt:iss#alice", status=None, key=KEY)
    assert "alice" not in cursor
    assert decode_cursor(cursor, owner="jwt:iss#alice", status=None, key=KEY) == LAST


@pytest.mark.parametrize(
    ("owner", "status", "key"),
    [("jwt:iss#bob", None, KEY), ("jwt:iss#alice", "failed", KEY), ("jwt:iss#alice", None, b"x" * 32)],
)
def test_bound_to_caller_filter_and_key(owner, status, key):
    cursor = encode_cursor(LAST, owner="jwt:iss#alice", status=None, key=KEY)
    with pytest.raises(ApiError) as raised:
        decode_cursor(cursor, owner=owner, status=status, key=key)
    assert raised.value.code == "INVALID_CURSOR" and raised.value.status == 400


def test_every_changed_character_is_detected():
    cursor = encode_cursor(LAST, owner="o", status=None, key=KEY)
    for index in range(len(cursor)):
        replacement = "A" if cursor[index] != "A" else "B"
        tampered = cursor[:index] + replacement + cursor[index + 1 :]
        try:
            decoded = decode_cursor(tampered, owner="o", status=None, key=KEY)
        except ApiError as error:
            assert error.code == "INVALID_CURSOR"
        else:  # only a change that base64 decoding ignores (padding bits of the last character) may pass
            assert decoded == {**LAST, "owner": "o"}


@pytest.mark.parametrize("bad", ["", "x", "v1..", "v1.e30.", "a.b.c", "v1." + "A" * 2000 + ".A", None, 5])
def test_garbage(bad):
    with pytest.raises(ApiError):
        decode_cursor(bad, owner="o", status=None, key=KEY)
