"""Secrets Manager values, cached per sandbox for a bounded time (Powertools' SecretsProvider)."""

from __future__ import annotations

import threading
from typing import Any

from faceswap.adapters import aws_clients

_lock = threading.Lock()
_providers: dict[Any, Any] = {}  # keyed by the client itself, so the cache lives as long as the client's endpoint


def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws_clients.client("secretsmanager")
    with _lock:
        provider = _providers.get(client)
        if provider is None:
            provider = _providers[client] = SecretsProvider(boto3_client=client)
        return provider


def secret_string(arn: str, *, max_age: int) -> str:
    """The secret's current value; a cached copy up to `max_age` seconds old (0: always fetched)."""
    if not arn:
        raise LookupError("no secret is configured")
    value = _provider().get(arn, max_age=max_age, force_fetch=max_age <= 0)
    return value if isinstance(value, str) else value.decode()
