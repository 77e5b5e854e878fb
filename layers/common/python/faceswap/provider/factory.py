"""The provider client, configured from the environment, with the API key from Secrets Manager (cached)."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as SdkConnectionError

from faceswap.adapters import aws_clients
from faceswap.config import settings
from faceswap.domain.errors import SecretUnavailableError
from faceswap.provider.ailabtools import AilabClient, ProviderPermanentError

SECRET_MAX_AGE_SECONDS = 300
_lock = threading.Lock()
_providers: dict[Any, Any] = {}  # keyed by the client itself (held, so its identity is never reused)
# Secrets Manager answers worth retrying (after botocore's own retries gave up).
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout"}
# A secret created without a value (the stack is deployed before the key is put) has no AWSCURRENT version.
_NO_VALUE_CODES = {"ResourceNotFoundException"}


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


def _missing_key(detail: str) -> ProviderPermanentError:
    return ProviderPermanentError(
        "MISSING_API_KEY",
        f"no AILabTools API key is stored ({detail}): put it into the ProviderApiKeySecretArn secret",
        job_error_code="PROVIDER_AUTH_FAILED",
    )


def api_key() -> str:
    """The provider API key. Raises ProviderPermanentError (PROVIDER_AUTH_FAILED) when none is stored and
    SecretUnavailableError when Secrets Manager throttles or cannot be reached (the workflow retries that)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = _secrets_provider().get(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__  # Powertools wraps the SDK's exception
        if isinstance(cause, ClientError):
            code = str(cause.response.get("Error", {}).get("Code", ""))
            if code in _TRANSIENT_CODES:
                raise SecretUnavailableError(f"Secrets Manager: {code}") from error
            if code in _NO_VALUE_CODES:
                raise _missing_key("the secret has no value") from error
        if isinstance(cause, SdkConnectionError | HTTPClientError):
            raise SecretUnavailableError(f"Secrets Manager: {type(cause).__name__}") from error
        raise
    key = value if isinstance(value, str) else value.decode()
    if not key.strip():
        raise _missing_key("the secret is empty")
    return key.strip()


def client(key: str | None = None) -> AilabClient:
    """The provider client; with `key` it uses that key, otherwise it reads the secret when it first calls."""
    config = settings()
    return AilabClient(
        config.provider_base_url,
        api_key=key if key is not None else api_key,
        connect_timeout=config.provider_connect_timeout,
        read_timeout=config.provider_read_timeout,
    )
