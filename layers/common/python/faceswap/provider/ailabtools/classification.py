"""The table that classifies AILabTools' failed answers into the seam's error classes and our job error codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faceswap.provider.errors import ProviderError, ProviderPermanentError, ProviderTransientError

Kind = Literal["transient", "permanent"]


@dataclass(frozen=True)
class Classification:
    kind: Kind
    job_error_code: str


_T: Kind = "transient"
_P: Kind = "permanent"


def _rules(kind: Kind, job_error_code: str, *codes: str) -> dict[str, Classification]:
    return dict.fromkeys(codes, Classification(kind, job_error_code))


# `error_detail.code` -> classification. The code wins over the HTTP status because the vendor remapped 48 statuses
# on 2026-01-08 (e.g. EXCEEDING_LIMITS went 422 -> 429, PROCESSING_FAILURE 400 -> 500) and either mapping may be live.
PROVIDER_CODE_TABLE: dict[str, Classification] = {
    **_rules(
        _P,
        "FACE_NOT_FOUND",
        "ERROR_NO_FACE_IN_FILE",
        "ERROR_FACE_NOT_FOUND",
        "ERROR_FACE_UNRECOGNIZABLE",
        "ERROR_NO_RECOGNITION_TARGET_DETECTED",
    ),
    **_rules(
        _P,
        "FACE_TOO_SMALL",
        "ERROR_SMALL_FACE_SIZE",
        "ERROR_FACE_SIZE_NOT_MEET_REQUIREMENTS",
        "ERROR_FACE_SIZE_RATIO_NOT_MET",
    ),
    **_rules(_P, "FACE_COUNT_INVALID", "ERROR_FACE_COUNT_INVALID"),
    **_rules(
        _P,
        "PROVIDER_REJECTED_IMAGE",
        "FILE_SIZE_EXCEEDS_LIMIT",
        "FILE_RESOLUTION_EXCEEDS_LIMITS",
        "ERROR_HIGH_RESOLUTION",
        "ERROR_LOW_RESOLUTION",
        "ERROR_REQUEST_BODY_TOO_LARGE",
        "ERROR_TOO_MANY_FILES",
        "UNSUPPORTED_FILE_TYPES",
        "ERROR_UNSUPPORTED_GRAYSCALE_IMAGE",
        "FILE_DECODING_FAILURE",
        "ERROR_ILLEGAL_FILE",
        "ERROR_INVALID_FILE",
        "FILE_CONTENT_NON_COMPLIANCE",
        "ERROR_CONTENT_NON_COMPLIANCE",
        "ERROR_INCORRECT_FILE_COUNT",
        "ERROR_POOR_FACE_QUALITY",
        "ERROR_BLURRY_FACE",
        "ERROR_OBSTRUCTED_FACE",
        "ERROR_POOR_FACE_LIGHTING",
        "ERROR_INCOMPLETE_FACE",
        "ERROR_FACE_NOT_FACING_FORWARD",
        "ERROR_QUALITY_SCORE_NOT_MEET_REQUIREMENTS",
        "ERROR_CARTOON_FACE_NOT_SUPPORTED",
        "ERROR_TEMPLATE_IMAGE_QUALITY_TOO_LOW",
        "ERROR_FACE_COPY_SCENE_MISMATCH",
        "ERROR_SCENE_TYPE_MISMATCH",
        "ERROR_IMAGE_RECOGNITION_FAILED",
        "ERROR_LEFT_EYE_OCCLUSION_TOO_HIGH",
        "ERROR_RIGHT_EYE_OCCLUSION_TOO_HIGH",
        "ERROR_LEFT_FACE_OCCLUSION_TOO_HIGH",
        "ERROR_RIGHT_FACE_OCCLUSION_TOO_HIGH",
        "ERROR_CHIN_OCCLUSION_TOO_HIGH",
        "ERROR_NOSE_OCCLUSION_TOO_HIGH",
        "ERROR_MOUTH_OCCLUSION_TOO_HIGH",
    ),
    **_rules(
        _P,
        "PROVIDER_AUTH_FAILED",
        "ERROR_USER_NOT_EXISTS",
        "ERROR_APPLICATIONS_NOT_EXISTS",
        "ERROR_USER_LOCKED",
        "ERROR_ILLEGAL_OPERATION",
    ),
    **_rules(_P, "PROVIDER_NO_CREDITS", "ERROR_NOT_ENOUGH_CREDITS"),
    **_rules(
        _P,
        "PROVIDER_TASK_FAILED",
        "ERROR_RESOURCE_NOT_FOUND",
        "ERROR_TASK_STOPPED_PROCESSING",
        "ERROR_TASK_REVOKED",
        "ERROR_RESOURCE_RECLAIMED",
        "ERROR_AI_NOT_EXISTS",
    ),
    **_rules(
        _T,
        "PROVIDER_UNAVAILABLE",
        "EXCEEDING_LIMITS",
        "ERROR_BATCH_TASK_LIMIT_EXCEEDED",
        "PROCESSING_FAILURE",
        "UNKNOWN_ERROR",
        "SERVICE_INTERNAL_ERROR",
        "FILE_SERVICE_ERROR",
        "AI_SERVICE_ERROR",
        "AI_SERVICE_INTERNAL_ERROR",
        "AI_SERVICE_UNAUTHORIZED",
        "AI_SERVICE_NOT_FOUND",
        "AI_SERVICE_FLOW_RESTRICTION",
        "AI_SERVICE_TIMEOUT",
        "ERROR_GATEWAY",
        "ERROR_FILE_UPLOAD_FAILED",
        "ERROR_FILE_DOWNLOAD_FAILED",
        "ERROR_DATA_TRANSFER_FAILED",
        "ERROR_FILE_DOWNLOAD_TIMEOUT",
        "ERROR_INSUFFICIENT_RESOURCES",
        "ERROR_RESOURCE_IN_TRANSIT",
        "ERROR_RESOURCE_UNAVAILABLE",
    ),
}

# Fallback when the code is empty or unknown: exact statuses first, then the status class.
HTTP_STATUS_TABLE: dict[int, Classification] = {
    401: Classification(_P, "PROVIDER_AUTH_FAILED"),
    403: Classification(_P, "PROVIDER_AUTH_FAILED"),
    404: Classification(_P, "PROVIDER_TASK_FAILED"),
    408: Classification(_T, "PROVIDER_UNAVAILABLE"),
    429: Classification(_T, "PROVIDER_UNAVAILABLE"),
}

# Other 4xx depend on the call: a rejected submit is about its images, a failed query about its task.
HTTP_CLASS_TABLE: dict[tuple[str, int], Classification] = {
    ("submit", 4): Classification(_P, "PROVIDER_REJECTED_IMAGE"),
    ("query", 4): Classification(_P, "PROVIDER_TASK_FAILED"),
    ("submit", 5): Classification(_T, "PROVIDER_UNAVAILABLE"),
    ("query", 5): Classification(_T, "PROVIDER_UNAVAILABLE"),
}

_UNEXPECTED_STATUS = Classification(_T, "PROVIDER_UNAVAILABLE")  # 1xx/3xx/odd codes: most likely a proxy glitch


def classify(operation: Literal["submit", "query"], http_status: int, provider_code: str | None) -> Classification:
    """Classify a failed answer by its provider code, else by its HTTP status."""
    if provider_code and provider_code in PROVIDER_CODE_TABLE:
        return PROVIDER_CODE_TABLE[provider_code]
    if http_status in HTTP_STATUS_TABLE:
        return HTTP_STATUS_TABLE[http_status]
    if http_status == 200:
        # A 200 that names an error code we do not know is a deliberate refusal, not a glitch: treat it like a 4xx.
        return HTTP_CLASS_TABLE[(operation, 4)]
    return HTTP_CLASS_TABLE.get((operation, http_status // 100), _UNEXPECTED_STATUS)


ERROR_CLASS_BY_KIND: dict[Kind, type[ProviderError]] = {
    "transient": ProviderTransientError,
    "permanent": ProviderPermanentError,
}
