"""The engine's one exception type, carrying the provider's error codes so callers can pass them through."""

from __future__ import annotations

from typing import Literal

ImageRole = Literal["target", "template"]

NO_FACE = "ERROR_NO_FACE_IN_FILE"
SMALL_FACE = "ERROR_SMALL_FACE_SIZE"
FACE_COUNT_INVALID = "ERROR_FACE_COUNT_INVALID"
FACE_UNRECOGNIZABLE = "ERROR_FACE_UNRECOGNIZABLE"  # a face was found but cannot be read in any orientation
DECODING_FAILURE = "FILE_DECODING_FAILURE"
UNSUPPORTED_TYPE = "UNSUPPORTED_FILE_TYPES"
RESOLUTION_LIMITS = "FILE_RESOLUTION_EXCEEDS_LIMITS"

ERROR_CODES: frozenset[str] = frozenset(
    {
        NO_FACE,
        SMALL_FACE,
        FACE_COUNT_INVALID,
        FACE_UNRECOGNIZABLE,
        DECODING_FAILURE,
        UNSUPPORTED_TYPE,
        RESOLUTION_LIMITS,
    }
)


class FaceSwapError(Exception):
    """A swap that cannot be done because of its input; `code` is the provider's error code string."""

    def __init__(self, code: str, message: str, image: ImageRole | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.image = image

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "image": self.image}
