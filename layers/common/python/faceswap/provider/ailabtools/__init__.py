"""AILabTools AI Face Swap provider client (requests + stdlib only; runs in Lambda)."""

from .client import API_KEY_HEADER, QUERY_PATH, SUBMIT_PATH, AilabClient
from .errors import (
    PROVIDER_CODE_TABLE,
    Classification,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
    classify,
)
from .models import QueryResult, SubmitResult, TaskState, UploadFile

__all__ = [
    "API_KEY_HEADER",
    "PROVIDER_CODE_TABLE",
    "QUERY_PATH",
    "SUBMIT_PATH",
    "AilabClient",
    "Classification",
    "ProviderError",
    "ProviderOutcomeUnknown",
    "ProviderPermanentError",
    "ProviderTransientError",
    "QueryResult",
    "SubmitResult",
    "TaskState",
    "UploadFile",
    "classify",
]
