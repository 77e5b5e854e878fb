"""What a face-swap provider is, as the workflow sees it: no vendor names, no HTTP, no I/O here.

A provider takes two photos (the face of `target` goes onto the person in `template`), answers with a task id at
once, and is asked about that task until it reports a result URL. Every failure is one of three classes, which is
all the workflow acts on (see `errors`): transient (retry), permanent (fail the job with its job error code), outcome
unknown (a submit whose acceptance cannot be known: never send it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from faceswap.domain.images import sniff_image_type  # stdlib-only at import; Pillow loads lazily

TaskState = Literal["queued", "processing", "succeeded"]
TASK_STATES: tuple[TaskState, ...] = ("queued", "processing", "succeeded")

_EXTENSION_BY_CONTENT_TYPE = {"image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class Photo:
    """One photo sent to a provider. `content` stays out of the repr: it can be megabytes."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str

    @classmethod
    def from_bytes(cls, role: str, content: bytes, content_type: str | None = None) -> Photo:
        """Name the photo `<role>.jpg|png` with the sniffed MIME type.

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
    result_url: str | None = None  # set when state == "succeeded"; the provider's URL, fetched by the archive step
    request_id: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do beyond the plain swap, so callers can be told before a job is created."""

    face_selection: bool = False  # choose which face of a group photo is replaced
    options: frozenset[str] = frozenset()  # provider-specific options it accepts
    max_image_bytes: int = 5 * 1024 * 1024
    content_types: frozenset[str] = frozenset({"image/jpeg", "image/png"})


class FaceSwapProvider(Protocol):
    """A face-swap service. Adapters raise only the classes in `faceswap.provider.errors`, and never put a
    credential in an error message."""

    @property
    def name(self) -> str:
        """The provider's name as job records and events show it (one of the names in `factory.PROVIDERS`)."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def submit(self, target: Photo, template: Photo) -> SubmitResult:
        """Start a swap; may spend credits. Raises ProviderOutcomeUnknown when acceptance cannot be known."""
        ...

    def query(self, task_id: str) -> QueryResult:
        """One look at a task; safe to repeat. A task that failed or does not exist raises ProviderPermanentError."""
        ...
