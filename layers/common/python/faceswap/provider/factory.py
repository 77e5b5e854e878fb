"""The provider client, configured from the environment, with the API key from Secrets Manager (cached)."""

from __future__ import annotations

import threading
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.provider.ailabtools import AilabClient, ProviderTransientError

SECRET_MAX_AGE_SECONDS = 300
_SECRETS_TRANSIENT = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout"}
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
    """The key, cached for a few minutes. A throttled or unavailable Secrets Manager (after boto3's own retries) is
    transient, and raised as the provider's transient error: it happens inside the client's call, where that is what
    the submit step knows is safe to retry (nothing was sent)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from botocore.exceptions import ClientError

    try:
        value = _secrets_provider().get(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__
        code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
        if code in _SECRETS_TRANSIENT:
            raise ProviderTransientError("SECRET_UNAVAILABLE", f"Secrets Manager: {code}") from error
        raise
    return value if isinstance(value, str) else value.decode()


def client() -> AilabClient:
    config = settings()
    return AilabClient(
        config.provider_base_url,
        api_key=_api_key,
        connect_timeout=config.provider_connect_timeout,
        read_timeout=config.provider_read_timeout,
    )
