"""The provider this deployment uses, chosen by configuration (the `Provider` template parameter -> `PROVIDER`).

Adapters are imported only when chosen, so a function that never calls a provider never loads one. The API key, when
a provider needs one, is read from Secrets Manager (cached by Powertools for `SECRET_MAX_AGE_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as SdkConnectionError

from faceswap.adapters import secret_values
from faceswap.config import Settings, settings
from faceswap.domain.errors import SecretUnavailableError
from faceswap.provider.contract import FaceSwapProvider
from faceswap.provider.errors import ProviderPermanentError

SECRET_MAX_AGE_SECONDS = 300
# Secrets Manager answers worth retrying (after botocore's own retries gave up).
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout"}
# A secret created without a value (the stack is deployed before the key is put) has no AWSCURRENT version.
_NO_VALUE_CODES = {"ResourceNotFoundException"}


class UnknownProviderError(ValueError):
    """PROVIDER names no provider this package knows: a deployment mistake, not a job failure."""


def _ailabtools(config: Settings) -> FaceSwapProvider:
    from faceswap.provider.ailabtools import AilabClient

    return AilabClient(
        config.provider_base_url,
        api_key=api_key(),  # read before anything is sent: a missing key must leave the job resubmittable
        connect_timeout=config.provider_connect_timeout,
        read_timeout=config.provider_read_timeout,
    )


# Name -> builder. The names are also the `Provider` parameter's AllowedValues in template.yaml and the `provider.name`
# enum of the event schemas (tests/unit/provider/test_provider_registry.py keeps the three equal).
PROVIDERS: dict[str, Callable[[Settings], FaceSwapProvider]] = {
    "ailabtools": _ailabtools,
}


def provider(name: str | None = None) -> FaceSwapProvider:
    """The adapter of provider `name` (a job's own provider), by default the configured one (PROVIDER), with its
    credentials read. Raises ProviderPermanentError (PROVIDER_AUTH_FAILED) when no credential is stored and
    SecretUnavailableError when Secrets Manager throttles or cannot be reached (the workflow retries that)."""
    config = settings()
    chosen = name or config.provider_name
    build = PROVIDERS.get(chosen)
    if build is None:
        raise UnknownProviderError(f"provider {chosen!r} is not one of {sorted(PROVIDERS)}")
    return build(config)


def _missing_key(detail: str) -> ProviderPermanentError:
    return ProviderPermanentError(
        "MISSING_API_KEY",
        f"no provider API key is stored ({detail}): put it into the ProviderApiKeySecretArn secret",
        job_error_code="PROVIDER_AUTH_FAILED",
    )


def api_key() -> str:
    """The provider API key from Secrets Manager (see `provider` for what it raises)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value = secret_values.provider().get(settings().provider_api_key_secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
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
