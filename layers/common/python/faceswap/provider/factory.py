"""The provider client, configured from the environment, with the API key from Secrets Manager (cached)."""

from __future__ import annotations

import threading
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.provider.ailabtools import AilabClient

SECRET_MAX_AGE_SECONDS = 300
_lock = threading.Lock()
_providers: dict[Any, Any] = {}  # keyed by the client itself (held, so its identity is never reused)


def _secrets_provider() -> Any:
    """One Powertools SecretsProvider per Secrets Manager client: its value cache then lives exactly as long as the
    client's endpoint (one per Lambda sandbox; one per stack in the local harness)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws_clients.client("secretsmanager")
    with _lock:
        provider = _providers.get(client)
        if provider is None:
            provider = _providers[client] = SecretsProvider(boto3_client=client)
        return provider


def _api_key() -> str:
    value = _secrets_provider().get(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    return value if isinstance(value, str) else value.decode()


def client() -> AilabClient:
    config = settings()
    return AilabClient(
        config.provider_base_url,
        api_key=_api_key,
        connect_timeout=config.provider_connect_timeout,
        read_timeout=config.provider_read_timeout,
    )
