"""The provider client, configured from the environment, with the API key from Secrets Manager (cached)."""

from __future__ import annotations

from faceswap.config import settings
from faceswap.provider import AilabClient

SECRET_MAX_AGE_SECONDS = 300


def _api_key() -> str:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    return value if isinstance(value, str) else value.decode()


def client() -> AilabClient:
    config = settings()
    return AilabClient(config.provider_base_url, api_key=_api_key,
                       connect_timeout=config.provider_connect_timeout, read_timeout=config.provider_read_timeout)
