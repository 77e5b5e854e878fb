"""Labelling failures: transient ones are retried by the workflow (by class name); permanent ones fail the job."""

from __future__ import annotations

from faceswap.domain.errors import JobFailure, TransientError

PROVENANCE_FAILED = "PROVENANCE_FAILED"


class ProvenanceTransientError(TransientError):
    """Labelling failed for a reason that may pass (Secrets Manager throttled or unreachable)."""


def provenance_failure(message: str) -> JobFailure:
    """A permanent labelling failure: the result is not stored unlabelled; the message says what to fix."""
    return JobFailure(PROVENANCE_FAILED, message)
