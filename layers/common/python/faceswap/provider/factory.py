"""The provider this deployment uses, chosen by configuration (the `Provider` template parameter -> `PROVIDER`).

Adapters are imported only when chosen, so a function that never calls a provider never loads one. The API key, when
a provider needs one, is read from Secrets Manager (cached by Powertools for `SECRET_MAX_AGE_SECONDS`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from faceswap.adapters import aws_clients
from faceswap.config import Settings, settings
from faceswap.provider.contract import FaceSwapProvider

SECRET_MAX_AGE_SECONDS = 300
_lock = threading.Lock()
_secrets_providers: dict[Any, Any] = {}  # keyed by the client itself (held, so its identity is never reused)


class UnknownProviderError(ValueError):
    """PROVIDER names no provider this package knows: a deployment mistake, not a job failure."""


def _ailabtools(config: Settings) -> FaceSwapProvider:
    from faceswap.provider.ailabtools import AilabClient

    return AilabClient(
        config.provider_base_url,
        api_key=_api_key,
        connect_timeout=config.provider_connect_timeout,
        read_timeout=config.provider_read_timeout,
    )


# Name -> builder. The names are also the `Provider` parameter's AllowedValues in template.yaml and the `provider.name`
# enum of the event schemas (tests/unit/provider/test_provider_registry.py keeps the three equal).
PROVIDERS: dict[str, Callable[[Settings], FaceSwapProvider]] = {
    "ailabtools": _ailabtools,
}


def provider(name: str | None = None) -> FaceSwapProvider:
    """The adapter of provider `name` (a job's own provider), by default the configured one (PROVIDER)."""
    config = settings()
    chosen = name or config.provider_name
    build = PROVIDERS.get(chosen)
    if build is None:
        raise UnknownProviderError(f"provider {chosen!r} is not one of {sorted(PROVIDERS)}")
    return build(config)


def _secrets_provider() -> Any:
    """One Powertools SecretsProvider per Secrets Manager client: its value cache then lives exactly as long as the
    client's endpoint (one per Lambda sandbox; one per stack in the local harness)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws_clients.client("secretsmanager")
    with _lock:
        found = _secrets_providers.get(client)
        if found is None:
            found = _secrets_providers[client] = SecretsProvider(boto3_client=client)
        return found


def _api_key() -> str:
    value = _secrets_provider().get(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    return value if isinstance(value, str) else value.decode()
