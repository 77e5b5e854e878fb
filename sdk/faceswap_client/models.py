"""Typed views of the API's JSON (openapi.yaml): jobs, results, webhook state, provenance, pages.

Every `from_api` reads only the fields it knows and ignores the rest, so a newer API that adds fields never breaks an
older SDK; a missing optional field becomes None. The untouched JSON stays available as `raw`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

TERMINAL_STATUSES = frozenset({"succeeded", "failed"})
WEBHOOK_EVENTS = ("succeeded", "failed")


def read_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def read_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_timestamp(data: Mapping[str, Any], key: str) -> datetime | None:
    """ISO-8601 (the API writes UTC with a `Z`) as an aware datetime; None when absent or unreadable."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def read_mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, Mapping) else None


@dataclass(frozen=True)
class JobError:
    """Why a job failed: a stable `code` (docs/architecture.md "Job error codes") and a message."""

    code: str
    message: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> JobError:
        return cls(code=read_text(data, "code") or "UNKNOWN", message=read_text(data, "message") or "")


@dataclass(frozen=True)
class JobResult:
    """The archived result: a short-lived presigned `url` (fetch the job again for a fresh one) and its `sha256`."""

    url: str
    sha256: str
    expires_at: datetime | None = None
    content_type: str | None = None
    size: int | None = None
    provider_sha256: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> JobResult:
        return cls(
            url=read_text(data, "url") or "",
            sha256=(read_text(data, "sha256") or "").lower(),
            expires_at=read_timestamp(data, "expires_at"),
            content_type=read_text(data, "content_type"),
            size=read_int(data, "size"),
            provider_sha256=read_text(data, "provider_sha256"),
        )


@dataclass(frozen=True)
class WebhookState:
    """Delivery state of the job's webhook: `status` is pending, delivered, failed or disabled; `host` is the
    receiver's host only (the URL is never shown back)."""

    status: str
    host: str | None = None
    events: tuple[str, ...] = ()
    attempts: int = 0
    last_status_code: int | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WebhookState:
        events = data.get("events")
        return cls(
            status=read_text(data, "status") or "unknown",
            host=read_text(data, "host"),
            events=tuple(str(event) for event in events) if isinstance(events, list) else (),
            attempts=read_int(data, "attempts") or 0,
            last_status_code=read_int(data, "last_status_code"),
            last_attempt_at=read_timestamp(data, "last_attempt_at"),
            delivered_at=read_timestamp(data, "delivered_at"),
        )


@dataclass(frozen=True)
class Provenance:
    """How the result is labelled as AI-made: a C2PA manifest, XMP metadata, an invisible watermark."""

    c2pa: bool = False
    xmp: bool = False
    watermark: bool = False
    digital_source_type: str | None = None
    watermark_payload: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            c2pa=data.get("c2pa") is True,
            xmp=data.get("xmp") is True,
            watermark=data.get("watermark") is True,
            digital_source_type=read_text(data, "digital_source_type"),
            watermark_payload=read_text(data, "watermark_payload"),
        )


@dataclass(frozen=True)
class UploadForm:
    """An S3 presigned POST form for one image role: every `fields` entry first, then the file."""

    url: str
    fields: Mapping[str, str]
    content_type: str
    max_bytes: int
    expires_at: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> UploadForm:
        fields = read_mapping(data, "fields") or {}
        return cls(
            url=read_text(data, "url") or "",
            fields={str(name): str(value) for name, value in fields.items()},
            content_type=read_text(data, "content_type") or str(fields.get("Content-Type", "")),
            max_bytes=read_int(data, "max_bytes") or 5 * 1024 * 1024,
            expires_at=read_timestamp(data, "expires_at"),
        )


@dataclass(frozen=True)
class Job:
    """A face-swap job as the API shows it (`GET /v1/swaps/{job_id}`).

    `status` is one of awaiting_upload, queued, processing, succeeded, failed. `result` is set once it succeeded,
    `error` once it failed. `uploads` holds the upload forms, only in the answer of `create` while the job awaits its
    images. `raw` is the API's JSON as received.
    """

    job_id: str
    status: str
    origin: str | None = None
    client_reference: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    queued_at: datetime | None = None
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    polls: int = 0
    error: JobError | None = None
    result: JobResult | None = None
    webhook: WebhookState | None = None
    provenance: Provenance | None = None
    uploads: Mapping[str, UploadForm] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """True once the job has succeeded or failed (it will not change any more)."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Job:
        error = read_mapping(data, "error")
        result = read_mapping(data, "result")
        webhook = read_mapping(data, "webhook")
        provenance = read_mapping(data, "provenance")
        uploads = read_mapping(data, "uploads") or {}
        return cls(
            job_id=read_text(data, "job_id") or "",
            status=read_text(data, "status") or "unknown",
            origin=read_text(data, "origin"),
            client_reference=read_text(data, "client_reference"),
            created_at=read_timestamp(data, "created_at"),
            updated_at=read_timestamp(data, "updated_at"),
            queued_at=read_timestamp(data, "queued_at"),
            submitted_at=read_timestamp(data, "submitted_at"),
            completed_at=read_timestamp(data, "completed_at"),
            polls=read_int(data, "polls") or 0,
            error=JobError.from_api(error) if error is not None else None,
            result=JobResult.from_api(result) if result is not None else None,
            webhook=WebhookState.from_api(webhook) if webhook is not None else None,
            provenance=Provenance.from_api(provenance) if provenance is not None else None,
            uploads={
                str(role): UploadForm.from_api(form) for role, form in uploads.items() if isinstance(form, Mapping)
            },
            raw=dict(data),
        )


@dataclass(frozen=True)
class Page:
    """One page of `GET /v1/swaps`: its jobs (newest first) and the cursor of the next page (None on the last)."""

    items: tuple[Job, ...]
    next_cursor: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Page:
        items = data.get("items")
        jobs = (
            tuple(Job.from_api(item) for item in items if isinstance(item, Mapping)) if isinstance(items, list) else ()
        )
        return cls(items=jobs, next_cursor=read_text(data, "next_cursor") or None)


@dataclass(frozen=True)
class Webhook:
    """Where to push a job's outcome: an https `url` and the `events` to send (default both)."""

    url: str
    events: Sequence[str] = WEBHOOK_EVENTS

    def to_api(self) -> dict[str, Any]:
        return {"url": self.url, "events": list(self.events)}


@dataclass(frozen=True)
class Download:
    """A result written to `path`, whose bytes have the API's `sha256`."""

    path: Path
    sha256: str
    size: int
