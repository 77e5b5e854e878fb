"""Local caller identities for the local HTTP API, verified the way API Gateway's authorizers do.

- JWT: a per-run random HS256 key; ``Authorization: Bearer <token>`` -> ``{"jwt": {"claims": ..., "scopes": ...}}``.
- IAM: requests signed with SigV4 (service ``execute-api``) by a local access key -> ``{"iam": {...}}``.
Anything else is refused; the gateway answers 401 without invoking the function.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import EMPTY_SHA256_HASH, UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 15 * 60  # SigV4 requests older or newer than this are refused, as on AWS


class AuthError(Exception):
    """Credentials were present but not valid (the reason is for logs, never for the caller)."""


@dataclass(frozen=True)
class IamUser:
    name: str
    access_key_id: str
    secret_access_key: str
    user_id: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AuthError("malformed token encoding") from exc


def _random_id(prefix: str, length: int = 16) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class LocalAuth:
    def __init__(
        self,
        *,
        issuer: str = "https://faceswap.local/issuer",
        audience: str = "faceswap-local",
        account_id: str = "123456789012",
        region: str = "us-east-1",
        service: str = "execute-api",
        key: bytes | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.account_id = account_id
        self.region = region
        self.service = service
        # Per run unless given: tokens of another run (another key) are not valid.
        self.key = key or secrets.token_bytes(32)
        self._users: dict[str, IamUser] = {}
        self._lock = threading.Lock()

    # JWT ----------------------------------------------------------------------------------------------------------
    def mint(self, sub: str, ttl: int = 3600, *, scopes: list[str] | None = None, **claims: Any) -> str:
        """A signed token for caller ``sub``, valid for ``ttl`` seconds."""
        if not sub:
            raise ValueError("sub must not be empty")
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now, "nbf": now, "exp": now + ttl,
                   "jti": uuid.uuid4().hex, **claims}  # fmt: skip
        if scopes:
            payload["scope"] = " ".join(scopes)
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(payload).encode())
        signature = hmac.new(self.key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    def verify_token(self, token: str) -> dict[str, Any]:
        """The token's claims; raises AuthError if it is malformed, forged, expired or not for this API."""
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError("not a JWT")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
        except ValueError as exc:
            raise AuthError("malformed JWT") from exc
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            raise AuthError("unexpected JWT algorithm")
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
            raise AuthError("bad JWT signature")
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise AuthError("JWT expired")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 60:
            raise AuthError("JWT not yet valid")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self.issuer or self.audience not in audiences:
            raise AuthError("JWT issuer or audience mismatch")
        if not claims.get("sub"):
            raise AuthError("JWT without sub")
        return claims

    def jwt_authorizer(self, token: str) -> dict[str, Any]:
        """``requestContext.authorizer`` as API Gateway's JWT authorizer fills it (claim values as strings)."""
        claims = self.verify_token(token)
        scope = claims.get("scope")
        return {
            "jwt": {
                "claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()},
                "scopes": scope.split() if isinstance(scope, str) and scope else None,
            }
        }

    # IAM ----------------------------------------------------------------------------------------------------------
    def add_iam_user(
        self, name: str, access_key_id: str | None = None, secret_access_key: str | None = None
    ) -> tuple[str, str]:
        """Create (or restore, given its keys) a local IAM user; returns (access key id, secret access key)."""
        user = IamUser(
            name,
            access_key_id or _random_id("AKIA"),
            secret_access_key or secrets.token_urlsafe(30)[:40],
            "AIDA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper(),
        )
        with self._lock:
            self._users[user.access_key_id] = user
        return user.access_key_id, user.secret_access_key

    def iam_authorizer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Verify a SigV4-signed request; returns ``requestContext.authorizer`` like HTTP API IAM auth."""
        lowered = {k.lower(): v for k, v in headers.items()}
        lowered.setdefault("host", urlsplit(url).netloc)  # HTTP clients send it; botocore signs it from the URL
        fields = _parse_sigv4_header(lowered.get("authorization", ""))
        try:
            access_key, date, region, service, terminator = fields["Credential"].split("/")
        except ValueError as exc:
            raise AuthError("malformed credential scope") from exc
        user = self._users.get(access_key)
        if user is None:
            raise AuthError("unknown access key")
        if region != self.region or service != self.service or terminator != "aws4_request":
            raise AuthError("credential scope is not for this API")
        amz_date = lowered.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise AuthError("missing or malformed X-Amz-Date") from exc
        if amz_date[:8] != date or abs(time.time() - signed_at.timestamp()) > MAX_CLOCK_SKEW_SECONDS:
            raise AuthError("signature date out of range")
        signed_headers = fields["SignedHeaders"].split(";")
        if "host" not in signed_headers or any(h not in lowered for h in signed_headers):
            raise AuthError("signed headers missing")
        content_hash = lowered.get("x-amz-content-sha256")
        if content_hash not in (None, UNSIGNED_PAYLOAD) and content_hash != _sha256_hex(body):
            raise AuthError("body does not match X-Amz-Content-SHA256")
        request = AWSRequest(method=method, url=url, data=body, headers={h: lowered[h] for h in signed_headers})
        if content_hash is not None:
            request.headers["X-Amz-Content-SHA256"] = content_hash  # botocore uses it verbatim, as AWS does
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(user.access_key_id, user.secret_access_key), service, region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise AuthError("signature mismatch")
        return {
            "iam": {
                "accessKey": user.access_key_id,
                "accountId": self.account_id,
                "callerId": user.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{self.account_id}:user/{user.name}",
                "userId": user.user_id,
            }
        }

    # both ---------------------------------------------------------------------------------------------------------
    def authorize(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """The authorizer context for a request; raises AuthError if it carries no valid credentials."""
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip()
        if authorization.startswith(SIGV4_ALGORITHM + " "):
            return self.iam_authorizer(method, url, headers, body)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.jwt_authorizer(token.strip())
        raise AuthError("no credentials")


def _sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256_HASH


def _parse_sigv4_header(value: str) -> dict[str, str]:
    if not value.startswith(SIGV4_ALGORITHM + " "):
        raise AuthError("not a SigV4 authorization")
    fields: dict[str, str] = {}
    for part in value[len(SIGV4_ALGORITHM) :].split(","):
        key, _, item = part.strip().partition("=")
        fields[key] = item
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise AuthError("incomplete SigV4 authorization")
    return fields
