"""The provider client, configured from the environment, with the API key from Secrets Manager (cached)."""

from __future__ import annotations

import threading
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.provider.ailabtools import AilabClient

SECRET_MAX_AGE_SECONDS = 300
_lock = threading.Lock()
_provider: Any = None


def _secrets_provider() -> Any:
    """The process's Powertools SecretsProvider: its cache keeps the key for SECRET_MAX_AGE_SECONDS."""
    global _provider
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    with _lock:
        if _provider is None:
            _provider = SecretsProvider(boto3_client=aws_clients.client("secretsmanager"))
        return _provider


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
