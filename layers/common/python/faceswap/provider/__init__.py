"""Face-swap providers: the seam the workflow uses (`contract`, `errors`), the adapter chosen by configuration
(`factory`), and one sub-package per provider service (`ailabtools`).

The workflow and the handlers import from here only, never from an adapter's package."""

from faceswap.provider.contract import (
    TASK_STATES,
    Capabilities,
    FaceSwapProvider,
    Photo,
    QueryResult,
    SubmitResult,
    TaskState,
)
from faceswap.provider.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderPermanentError,
    ProviderTransientError,
)

__all__ = [
    "TASK_STATES",
    "Capabilities",
    "FaceSwapProvider",
    "Photo",
    "ProviderError",
    "ProviderOutcomeUnknown",
    "ProviderPermanentError",
    "ProviderTransientError",
    "QueryResult",
    "SubmitResult",
    "TaskState",
]
