"""Python SDK of the face-swap service API, and the `faceswap` command built on it (docs/sdk.md, docs/cli.md).

from faceswap_client import Client

with Client("https://abc123.execute-api.us-east-1.amazonaws.com") as client:  # SigV4, AWS credential chain
    job = client.swap("target.jpg", "template.png")
    client.download(job, "result.jpg")
"""

from faceswap_client.auth import BearerAuth, SigV4Auth
from faceswap_client.client import AWS_CREDENTIAL_CHAIN, Client, JobPages
from faceswap_client.errors import (
    ApiError,
    ChecksumMismatch,
    Conflict,
    CredentialsError,
    FaceSwapError,
    InvalidImage,
    InvalidRequest,
    JobFailed,
    NetworkError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ResultNotReady,
    ServerError,
    StorageError,
    Unauthenticated,
    ValidationFailed,
    WaitTimeout,
    WebhookVerificationError,
)
from faceswap_client.models import (
    Download,
    Job,
    JobError,
    JobResult,
    Page,
    Provenance,
    UploadForm,
    Webhook,
    WebhookState,
)
from faceswap_client.transport import RetryPolicy
from faceswap_client.verification import VerifyExit, VerifyReport, verify
from faceswap_client.version import __version__
from faceswap_client.webhooks import WebhookEvent, verify_webhook

__all__ = [
    "AWS_CREDENTIAL_CHAIN",
    "ApiError",
    "BearerAuth",
    "ChecksumMismatch",
    "Client",
    "Conflict",
    "CredentialsError",
    "Download",
    "FaceSwapError",
    "InvalidImage",
    "InvalidRequest",
    "Job",
    "JobError",
    "JobFailed",
    "JobPages",
    "JobResult",
    "NetworkError",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Provenance",
    "RateLimited",
    "ResultNotReady",
    "RetryPolicy",
    "ServerError",
    "SigV4Auth",
    "StorageError",
    "Unauthenticated",
    "UploadForm",
    "ValidationFailed",
    "VerifyExit",
    "VerifyReport",
    "WaitTimeout",
    "Webhook",
    "WebhookEvent",
    "WebhookState",
    "WebhookVerificationError",
    "__version__",
    "verify",
    "verify_webhook",
]
