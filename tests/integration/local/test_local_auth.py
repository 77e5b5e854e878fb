"""Local JWT issuer and SigV4 verification, as API Gateway's JWT and IAM authorizers see callers."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from faceswap_local.local_auth import AuthError, LocalAuth

URL = "http://127.0.0.1:3000/v1/jobs?b=2&a=1"


def _signed_headers(key: str, secret: str, body: bytes = b"{}", url: str = URL, region: str = "us-east-1") -> dict:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def test_minted_token_verifies_to_api_gateway_jwt_claims() -> None:
    auth = LocalAuth()
    authorizer = auth.authorize("GET", URL, {"Authorization": f"Bearer {auth.mint('alice', scopes=['swap'])}"}, b"")
    claims = authorizer["jwt"]["claims"]
    assert claims["sub"] == "alice" and claims["iss"] == auth.issuer and claims["aud"] == auth.audience
    assert isinstance(claims["exp"], str)  # HTTP API passes claim values as strings
    assert authorizer["jwt"]["scopes"] == ["swap"]


@pytest.mark.parametrize(
    "make_token",
    [
        lambda auth: LocalAuth().mint("alice"),  # another run's key
        lambda auth: auth.mint("alice", ttl=-1),  # expired
        lambda auth: auth.mint("alice")[:-2] + "xx",  # tampered signature
        lambda auth: "not-a-jwt",
        lambda auth: ".".join(
            [base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("="), "e30", ""]
        ),
        lambda auth: auth.mint("alice", aud="someone-else"),
    ],
)
def test_invalid_tokens_are_refused(make_token) -> None:
    auth = LocalAuth()
    with pytest.raises(AuthError):
        auth.authorize("GET", URL, {"Authorization": f"Bearer {make_token(auth)}"}, b"")


def test_missing_credentials_are_refused() -> None:
    with pytest.raises(AuthError):
        LocalAuth().authorize("GET", URL, {}, b"")
    with pytest.raises(AuthError):
        LocalAuth().authorize("GET", URL, {"Authorization": "Basic dXNlcjpwYXNz"}, b"")


def test_sigv4_signed_request_gives_the_iam_authorizer_context() -> None:
    auth = LocalAuth(account_id="111122223333")
    key, secret = auth.add_iam_user("bob")
    authorizer = auth.authorize("POST", URL, _signed_headers(key, secret), b"{}")["iam"]
    assert authorizer["accessKey"] == key
    assert authorizer["accountId"] == "111122223333"
    assert authorizer["userArn"] == "arn:aws:iam::111122223333:user/bob"
    assert authorizer["userId"] == authorizer["callerId"] and authorizer["userId"].startswith("AIDA")


def test_sigv4_with_wrong_secret_changed_body_other_path_or_unknown_key_is_refused() -> None:
    auth = LocalAuth()
    key, secret = auth.add_iam_user("bob")
    cases = [
        (_signed_headers(key, "wrong-secret"), URL, b"{}"),
        (_signed_headers(key, secret), URL, b'{"changed": true}'),
        (_signed_headers(key, secret), URL.replace("/v1/jobs", "/v1/other"), b"{}"),
        (_signed_headers("AKIAUNKNOWN000000000", secret), URL, b"{}"),
        (_signed_headers(key, secret, region="eu-west-1"), URL, b"{}"),
    ]
    for headers, url, body in cases:
        with pytest.raises(AuthError):
            auth.authorize("POST", url, headers, body)
