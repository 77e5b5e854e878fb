"""Who is calling: the owner of a job is the IAM principal or the JWT subject from the HTTP API's authorizer."""

from __future__ import annotations

import re
from typing import Any

from faceswap.domain.errors import ApiError

_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def caller_owner(event: dict[str, Any]) -> str:
    """A stable owner string for the caller, or ApiError UNAUTHENTICATED.

    Assumed-role sessions are folded into their role: a job created by one Lambda or CI session stays visible to the
    next session of the same role.
    """
    authorizer = _mapping(_mapping(event.get("requestContext")).get("authorizer"))
    iam = _mapping(authorizer.get("iam"))
    user_arn = iam.get("userArn")
    if isinstance(user_arn, str) and user_arn:
        match = _ASSUMED_ROLE.match(user_arn)
        if match:
            partition, account, role = match.groups()
            return f"iam:arn:{partition}:iam::{account}:role/{role}"
        return f"iam:{user_arn}"
    claims = _mapping(_mapping(authorizer.get("jwt")).get("claims"))
    subject = claims.get("sub")
    if isinstance(subject, str) and subject:
        issuer = claims.get("iss") or ""
        return f"jwt:{issuer}#{subject}"
    raise ApiError("UNAUTHENTICATED", "The request carries no caller identity.")


def _mapping(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else empty: a malformed request context means no identity, not a crash."""
    return value if isinstance(value, dict) else {}
