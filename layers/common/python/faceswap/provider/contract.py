"""Plain values exchanged with the AILabTools client (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from faceswap.domain.images import sniff_image_type  # stdlib-only at import; Pillow loads lazily

TaskState = Literal["queued", "processing", "succeeded"]

_EXTENSION_BY_CONTENT_TYPE = {"image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class UploadFile:
    """One multipart file part. `content` stays out of the repr: it can be megabytes."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str

    @classmethod
    def from_bytes(cls, role: str, content: bytes, content_type: str | None = None) -> UploadFile:
        """Name the part `<role>.jpg|png` with the sniffed MIME type, as the vendor SDK does.

        Raises ValueError when the bytes are neither JPEG nor PNG and no content type is given.
        """
        resolved = content_type or sniff_image_type(content)
        if resolved not in _EXTENSION_BY_CONTENT_TYPE:
            raise ValueError(f"{role}: content is not a JPEG or PNG image (content type {resolved!r})")
        return cls(f"{role}.{_EXTENSION_BY_CONTENT_TYPE[resolved]}", content, resolved)


@dataclass(frozen=True)
class SubmitResult:
    task_id: str
    request_id: str | None = None
    log_id: str | None = None


@dataclass(frozen=True)
class QueryResult:
    state: TaskState
    result_url: str | None = None
    request_id: str | None = None
