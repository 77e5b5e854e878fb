"""A swap job: its statuses and the record the jobs table keeps (pure data; the store is adapters/job_table.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AWAITING_UPLOAD = "awaiting_upload"
QUEUED = "queued"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
DELETED = "deleted"
TERMINAL = frozenset({SUCCEEDED, FAILED, DELETED})
ROLES = ("target", "template")  # the face of `target` goes onto the person in `template`


@dataclass
class Job:
    job_id: str
    owner: str
    status: str
    origin: str  # "api" | "s3_inbox" | "eventbridge"
    inputs: dict[str, dict[str, str]]  # role -> {"bucket", "key"}
    created_at: str
    updated_at: str
    expires_at: int  # epoch seconds: the record's DynamoDB TTL
    client_reference: str | None = None
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> {"size", "content_type"}
    queued_at: str | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    deadline_at: int | None = None  # epoch seconds, set when queued
    provider: str | None = None  # the configured provider's name at creation; the adapter's own once submitted
    provider_task_id: str | None = None
    submit_in_flight: bool = False  # a submit was sent and its outcome is not known yet: never send another
    # Which Submit attempt set submit_in_flight: an attempt whose own write DynamoDB answered "condition failed" (a
    # retried write whose first try landed) recognises it and goes on instead of mistaking itself for a rival.
    submit_attempt: str | None = None
    polls: int = 0
    result: dict[str, Any] | None = None  # {"bucket", "key", "sha256", "size", "content_type", "provider_sha256"}
    error: dict[str, str] | None = None  # {"code", "message"}
    terminal_event_sent: bool = False
    idempotency_fingerprint: str | None = None
    webhook: dict[str, Any] | None = None  # delivery settings and state (see faceswap.domain.webhooks)
    consent: dict[str, Any] | None = None  # the caller's attestation: {"attested": true, "reference"?}
    input_digests: dict[str, dict[str, str]] | None = None  # role -> {"sha256", "content_type"}
    provenance: dict[str, Any] | None = None  # how the result was labelled (set with the result)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL
