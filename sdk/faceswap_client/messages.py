"""One-line explanations of the API's error codes and the jobs' error codes (docs/architecture.md)."""

from __future__ import annotations

API_ERROR_HINTS: dict[str, str] = {
    "MALFORMED_JSON": "the API could not read the request body as a JSON object",
    "INVALID_JOB_ID": "a job id is 32 lowercase hexadecimal characters",
    "INVALID_IDEMPOTENCY_KEY": "--idempotency-key must be 1 to 255 printable ASCII characters",
    "UNAUTHENTICATED": "the API saw no caller identity; pass --token/FACESWAP_TOKEN or sign with AWS credentials",
    "FORBIDDEN": "your identity is not allowed to do this",
    "JOB_NOT_FOUND": "no such job (unknown, deleted, or created by another caller)",
    "ROUTE_NOT_FOUND": "the API has no such route; check that --api is the API's base URL",
    "METHOD_NOT_ALLOWED": "the API does not support this method on this path; check that --api is the right API",
    "UPLOADS_INCOMPLETE": "both images must be uploaded before the job can start",
    "JOB_NOT_STARTABLE": "the job has failed or was deleted and cannot be started; create a new one",
    "JOB_IN_PROGRESS": "the job is queued or processing; delete it once it has finished",
    "PAYLOAD_TOO_LARGE": "the request body is over 16 KiB",
    "UNSUPPORTED_MEDIA_TYPE": "only JPEG and PNG images (and JSON request bodies) are accepted",
    "VALIDATION_ERROR": "the API rejected a value of the request",
    "IDEMPOTENCY_KEY_REUSED": "this idempotency key was already used with different options; use a new key",
    "THROTTLED": "too many requests; wait a moment and retry",
    "TOO_MANY_ACTIVE_JOBS": "you have too many jobs queued or processing; wait for some to finish",
    "DAILY_QUOTA_EXCEEDED": "you have used today's job quota; retry after the time the API gives",
    "INVALID_CURSOR": "the listing cursor is not one this API gave you; start the listing again without it",
    "INVALID_WEBHOOK_URL": "a webhook URL must be https, at most 2048 characters, without credentials or private hosts",
    "WEBHOOK_DELIVERY_PENDING": "a webhook delivery is under way; redeliver once it has finished",
    "WEBHOOK_NOT_CONFIGURED": "the job has no webhook to deliver",
    "CONSENT_REQUIRED": "this service requires a consent attestation with each job",
    "INTERNAL_ERROR": "the service failed unexpectedly; retry later",
}

JOB_ERROR_HINTS: dict[str, str] = {
    "IMAGE_MISSING": "an input image was not found",
    "IMAGE_EMPTY": "an input image is empty",
    "IMAGE_TOO_LARGE": "an input image is over 5 MiB",
    "UNSUPPORTED_IMAGE_TYPE": "an input is not a real JPEG or PNG (animated PNGs are not supported)",
    "IMAGE_DECODE_FAILED": "an input image is truncated or corrupt",
    "IMAGE_DIMENSIONS_TOO_LARGE": "an input image is 4096 pixels or more wide or high",
    "IMAGE_DIMENSIONS_TOO_SMALL": "an input image is less than 64 pixels wide or high",
    "DECOMPRESSION_BOMB": "an input image decompresses to an unsafe size",
    "FACE_NOT_FOUND": "no face was found; use photos with a clearly visible face",
    "FACE_TOO_SMALL": "the face is too small; use a closer photo",
    "FACE_COUNT_INVALID": "the photo has too many or too few faces",
    "PROVIDER_REJECTED_IMAGE": "the face-swap provider rejected an image",
    "PROVIDER_AUTH_FAILED": "the service's provider API key was refused (operator action needed)",
    "PROVIDER_NO_CREDITS": "the service's provider account is out of credits (operator action needed)",
    "PROVIDER_TASK_FAILED": "the provider's task failed",
    "PROVIDER_UNAVAILABLE": "the provider was unavailable; retry later",
    "PROVIDER_OUTCOME_UNKNOWN": "the provider's answer was lost; the job was stopped so it is never charged twice",
    "JOB_TIMED_OUT": "the provider did not finish in time",
    "RESULT_EXPIRED": "the provider's result expired before it could be stored",
    "RESULT_INVALID": "the provider's result was not a valid image",
    "RESULT_UNAVAILABLE": "the provider's result could not be downloaded; retry later",
    "CONSENT_REQUIRED": "this service requires a consent attestation with every job",
    "PROVENANCE_FAILED": "the result could not be labelled as AI-made (operator action needed)",
    "INVALID_REQUEST": "the job request was malformed or pointed outside the application's bucket",
    "DAILY_QUOTA_EXCEEDED": "the deployment's daily limit of jobs from the drop zone and EventBridge is reached",
    "INPUT_INCOMPLETE": "only one photo of a drop-zone pair arrived within the pair timeout; upload both",
    "INTERNAL_ERROR": "the service failed unexpectedly",
}


def describe_api_error(code: str | None, message: str, http_status: int) -> str:
    """`CODE: hint (server message)` on one line; falls back to the HTTP status for gateway errors."""
    server = " ".join(message.split())
    if code is None:
        return f"HTTP {http_status}: {server or 'no details'}"
    hint = API_ERROR_HINTS.get(code)
    if hint is None or not server:
        return f"{code}: {server or hint or 'no details'}"
    return f"{code}: {hint} ({server})"


def describe_job_error(code: str, message: str) -> str:
    hint = JOB_ERROR_HINTS.get(code)
    server = " ".join(message.split())
    if hint is None:
        return f"{code}: {server}"
    return f"{code}: {server} ({hint})" if server else f"{code}: {hint}"
