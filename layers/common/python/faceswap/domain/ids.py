"""Job ids: random for API jobs, derived (uuid5) wherever a repeated request must map to the same job."""

from __future__ import annotations

import re
import uuid

JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
# A fixed namespace: changing it would change every derived job id.
_NAMESPACE = uuid.UUID("6f0e2c1a-5d0b-4c8e-9a51-4b0f3e7f2a90")


def new_job_id() -> str:
    return uuid.uuid4().hex


def is_job_id(value: object) -> bool:
    return isinstance(value, str) and bool(JOB_ID_PATTERN.fullmatch(value))


def _derived(*parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, "\n".join(parts)).hex


def job_id_for_idempotency_key(owner: str, key: str) -> str:
    return _derived("api", owner, key)


def job_id_for_inbox_pair(bucket: str, name: str, target_etag: str, template_etag: str) -> str:
    # The etags make a re-upload of new photos under the same name a new job, while duplicate S3 events map to one.
    return _derived("s3_inbox", bucket, name, target_etag, template_etag)


def job_id_for_incomplete_pair(bucket: str, key: str, etag: str) -> str:
    # One per lone photo (key and content): the check and its retries record the same failed job.
    return _derived("s3_inbox_incomplete", bucket, key, etag)


def job_id_for_request_event(key: str) -> str:
    return _derived("eventbridge", key)
