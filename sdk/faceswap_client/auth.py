"""Request authentication: a bearer token (JWT authorizer) or AWS SigV4 for `execute-api` (IAM authorizer).

Both are `requests` auth objects: pass one as `Client(api_url, auth=...)`.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from faceswap_client.errors import CredentialsError

if TYPE_CHECKING:
    from botocore.credentials import Credentials

EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
DEFAULT_REGION = "us-east-1"
# Only these request headers are signed: proxies may rewrite the others (Connection, Accept-Encoding, ...).
SIGNED_REQUEST_HEADERS = ("content-type", "idempotency-key")
SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class BearerAuth(AuthBase):
    """Sends `Authorization: Bearer <token>` (an API behind a JWT authorizer, or the local stack's token)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class SigV4Auth(AuthBase):
    """Signs each request with botocore's SigV4 signer (imported lazily: the client works without botocore).

    `credentials` are botocore credentials; refreshable ones (SSO, assumed roles, instance roles) are refreshed as
    they expire. Most callers use `SigV4Auth.from_aws_chain(api_url)`.
    """

    def __init__(self, credentials: Credentials, region: str, service: str = "execute-api") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    @classmethod
    def from_aws_chain(cls, api_url: str, *, region: str | None = None, profile: str | None = None) -> SigV4Auth:
        """Credentials from the AWS chain (environment, `profile` or AWS_PROFILE, config files, SSO, instance or
        container role); the region is `region`, else the one in an execute-api host name, else AWS_REGION /
        AWS_DEFAULT_REGION, else us-east-1. Raises `CredentialsError` if no credentials are found."""
        return cls(load_aws_credentials(profile), region_for(api_url, region))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth as BotocoreSigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {name: request.headers[name] for name in SIGNED_REQUEST_HEADERS if name in request.headers}
        body = request.body or b""
        aws_request = AWSRequest(method=request.method, url=request.url, headers=headers, data=body)
        BotocoreSigV4Auth(self.credentials.get_frozen_credentials(), self.service, self.region).add_auth(aws_request)
        for name in SIGNATURE_HEADERS:
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        return request


def region_for(api_url: str, explicit: str | None) -> str:
    """`explicit`, else the region in an execute-api host name, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1."""
    if explicit:
        return explicit
    match = EXECUTE_API_HOST.match(urlsplit(api_url).hostname or "")
    if match:
        return match.group(1)
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def load_aws_credentials(profile: str | None) -> Credentials:
    """The first credentials botocore's chain finds; `CredentialsError` when there are none."""
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise CredentialsError("SigV4 signing needs botocore (pip install botocore), or use a bearer token") from None
    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
    except BotoCoreError as exc:
        raise CredentialsError(f"cannot load AWS credentials: {exc}") from None
    if credentials is None:
        raise CredentialsError(
            "no AWS credentials found for SigV4 signing; configure AWS credentials (or AWS_PROFILE), "
            "or pass a bearer token (--token / FACESWAP_TOKEN for the CLI)"
        )
    return credentials
