"""boto3 clients, one per service and process, as Lambda code keeps them (clients are thread-safe; creating them is
not, hence the lock)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import boto3
from botocore.config import Config

_lock = threading.Lock()
_clients: dict[str, Any] = {}

# Presigned forms and URLs must be SigV4 (botocore still defaults presigning to SigV2 in some regions).
_S3_CONFIG = Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 4})
_DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4})


class _NoSecretsInSdkDebugLogs(logging.Filter):
    """At DEBUG, botocore logs response bodies (GetSecretValue: the provider API key) and signing material (the
    signature of every presigned URL); drop those records whatever log level somebody turns on."""

    _SECRET_BEARING = ("Response body", "CanonicalRequest", "StringToSign", "Signature")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self._SECRET_BEARING)


for _name in ("botocore.parsers", "botocore.auth"):
    logging.getLogger(_name).addFilter(_NoSecretsInSdkDebugLogs())


def client(service: str) -> Any:
    """The process's client for ``service`` (region and endpoint from the environment, as every SDK reads them)."""
    with _lock:
        existing = _clients.get(service)
        if existing is None:
            config = _S3_CONFIG if service == "s3" else _DEFAULT_CONFIG
            existing = _clients[service] = boto3.session.Session().client(service, config=config)
        return existing
