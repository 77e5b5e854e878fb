"""boto3 clients, created once per process and configuration (clients are thread-safe; creating them is not)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import boto3
from botocore.config import Config

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str | None], Any] = {}

# Presigned forms and URLs must be SigV4 (botocore still defaults presigning to SigV2 in some regions) and name the
# bucket's regional virtual-hosted address, <bucket>.s3.<region>.amazonaws.com: by default botocore presigns against
# the global s3.amazonaws.com, which regions opened since 2019 refuse (HTTP 400) and the others answer with a 307
# redirect that a browser's cross-origin POST does not follow.
_S3_RETRIES: Any = {"mode": "standard", "max_attempts": 4}  # botocore-stubs types it as a TypedDict
_S3_CONFIG = Config(
    signature_version="s3v4",
    retries=_S3_RETRIES,
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
)
# A custom endpoint (a local S3 on 127.0.0.1) serves buckets by path, not by host name.
_S3_CUSTOM_ENDPOINT_CONFIG = Config(signature_version="s3v4", retries=_S3_RETRIES)
_DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4})


class _NoSecretsInSdkDebugLogs(logging.Filter):
    """At DEBUG, botocore logs response bodies (GetSecretValue: the provider API key) and signing material (the
    signature of every presigned URL); drop those records whatever log level somebody turns on."""

    _SECRET_BEARING = ("Response body", "CanonicalRequest", "StringToSign", "Signature")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._SECRET_BEARING)


for _name in ("botocore.parsers", "botocore.auth"):
    logging.getLogger(_name).addFilter(_NoSecretsInSdkDebugLogs())


def _config(service: str, endpoint: str | None) -> Config:
    if service != "s3":
        return _DEFAULT_CONFIG
    return _S3_CUSTOM_ENDPOINT_CONFIG if endpoint else _S3_CONFIG


def client(service: str) -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # boto3 reads the endpoint variables itself; here they key the cache and decide the S3 addressing style.
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_S3") if service == "s3" else None) or os.environ.get(
        "AWS_ENDPOINT_URL"
    )
    key = (service, region, endpoint)
    with _lock:
        existing = _clients.get(key)
        if existing is None:
            config = _config(service, endpoint)
            existing = boto3.session.Session().client(service, region_name=region, config=config)
            _clients[key] = existing
        return existing


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between runs)."""
    with _lock:
        _clients.clear()
