"""AILabTools error codes the emulator emits, and the response envelope that carries them: every field any AILabTools
answer may have (request_id, log_id, error_code, error_code_str, error_msg, error_detail), so clients meet the union.

HTTP statuses follow the provider's mapping of 2026-01-08 (4xx for request and image errors, 5xx for its own faults).
"""

from __future__ import annotations

import uuid
from typing import Any

ERROR_CATALOG: dict[str, tuple[int, str]] = {
    "ERROR_PARAMETERS": (400, "Invalid parameters."),
    "MISSING_PARAMETERS": (400, "Missing parameters."),
    "ERROR_USER_NOT_EXISTS": (401, "The user does not exist."),
    "ERROR_APPLICATIONS_NOT_EXISTS": (401, "The application does not exist."),
    "ERROR_USER_LOCKED": (403, "The user is locked."),
    "ERROR_AI_NOT_EXISTS": (404, "AI does not exist or has been deactivated, please contact the platform."),
    "ERROR_RESOURCE_NOT_FOUND": (404, "Resource not found."),
    "ERROR_ILLEGAL_OPERATION": (403, "Illegal operation."),
    "FILE_SIZE_EXCEEDS_LIMIT": (413, "File size exceeds limit."),
    "FILE_RESOLUTION_EXCEEDS_LIMITS": (413, "File resolution exceeds limits."),
    "ERROR_REQUEST_BODY_TOO_LARGE": (413, "Request body size exceeds limit."),
    "UNSUPPORTED_FILE_TYPES": (415, "Unsupported file types."),
    "FILE_DECODING_FAILURE": (422, "File decoding failed."),
    "FILE_CONTENT_NON_COMPLIANCE": (422, "File content does not meet requirements."),
    "ERROR_CONTENT_NON_COMPLIANCE": (422, "Content does not meet requirements."),
    "ERROR_NO_FACE_IN_FILE": (422, "No face detected in the file."),
    "ERROR_FACE_NOT_FOUND": (404, "Face not found."),
    "ERROR_FACE_SIZE_NOT_MEET_REQUIREMENTS": (422, "Face size does not meet requirements."),
    "ERROR_FACE_SIZE_RATIO_NOT_MET": (422, "Face size ratio does not meet requirements."),
    "ERROR_SMALL_FACE_SIZE": (422, "Face size too small."),
    "ERROR_FACE_UNRECOGNIZABLE": (422, "Unable to recognize face."),
    "ERROR_POOR_FACE_QUALITY": (422, "Poor face quality."),
    "ERROR_BLURRY_FACE": (422, "Blurry face."),
    "ERROR_FACE_COUNT_INVALID": (
        422,
        "Face detection failed: The number of detected faces does not meet the requirements.",
    ),
    "ERROR_NOT_ENOUGH_CREDITS": (429, "Insufficient credits."),
    "EXCEEDING_LIMITS": (429, "Exceeds limit."),
    "PROCESSING_FAILURE": (500, "Processing failed."),
    "SERVICE_INTERNAL_ERROR": (
        500,
        "Service internal error. Please try again later. If not resolved promptly, contact the platform.",
    ),
    "AI_SERVICE_ERROR": (
        502,
        "AI service error. Please try again later. If not resolved promptly, contact the platform.",
    ),
    "ERROR_GATEWAY": (502, "Gateway error, please try again later."),
    "AI_SERVICE_FLOW_RESTRICTION": (
        503,
        "AI service is rate-limited. Please try again later. If not resolved promptly, contact the platform.",
    ),
    "AI_SERVICE_TIMEOUT": (504, "AI service timeout. Please try again later."),
}

# The deprecated `error_code_str` carries a coarse class; face errors were reported as content non-compliance.
_LEGACY_FACE_CLASS = "FILE_CONTENT_NON_COMPLIANCE"


def status_for(code: str, default: int = 422) -> int:
    return ERROR_CATALOG.get(code, (default, ""))[0]


def success_envelope(**fields: Any) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "log_id": uuid.uuid4().hex.upper(),
        "error_code": 0,
        "error_code_str": "",
        "error_msg": "",
        "error_detail": {"status_code": 200, "code": "", "code_message": "", "message": ""},
        **fields,
    }


def error_envelope(code: str, message: str = "", status: int | None = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for an error; `error_code` equals the HTTP status as the old docs say."""
    catalog_status, code_message = ERROR_CATALOG.get(code, (422, code.replace("_", " ").capitalize() + "."))
    http_status = status or catalog_status
    legacy = _LEGACY_FACE_CLASS if "FACE" in code else code
    body = {
        "request_id": str(uuid.uuid4()),
        "log_id": uuid.uuid4().hex.upper(),
        "error_code": http_status,
        "error_code_str": legacy,
        "error_msg": f"{code_message} - {message}" if message else code_message,
        "error_detail": {
            "status_code": http_status,
            "code": code,
            "code_message": code_message,
            "message": message or code_message,
        },
    }
    return http_status, body
