"""Secrets Manager values, cached per sandbox for a bounded time by one Powertools SecretsProvider per process."""

from __future__ import annotations

import threading
from typing import Any

from faceswap.adapters import aws_clients

_lock = threading.Lock()
_provider_instance: Any = None


def provider() -> Any:
    """The process's SecretsProvider (created on first use, like the boto3 client it wraps)."""
    global _provider_instance
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    with _lock:
        if _provider_instance is None:
            _provider_instance = SecretsProvider(boto3_client=aws_clients.client("secretsmanager"))
        return _provider_instance


def secret_string(arn: str, *, max_age: int) -> str:
    """The secret's current value; a cached copy up to `max_age` seconds old (0: always fetched)."""
    if not arn:
        raise LookupError("no secret is configured")
    value = provider().get(arn, max_age=max_age, force_fetch=max_age <= 0)
    return value if isinstance(value, str) else value.decode()
