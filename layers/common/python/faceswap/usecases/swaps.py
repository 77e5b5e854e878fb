"""The HTTP API's use cases: create a job with upload forms, read it, start it, delete it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from faceswap.adapters import workflow_starter
from faceswap.adapters.job_table import (
    AWAITING_UPLOAD,
    DELETED,
    FAILED,
    PROCESSING,
    QUEUED,
    ROLES,
    SUCCEEDED,
    Job,
    JobStore,
    new_job,
)
from faceswap.adapters.storage import UPLOAD_CONTENT_TYPES, Storage, upload_key
from faceswap.config import settings
from faceswap.domain import ids
from faceswap.domain.consent import InvalidConsent, parse_consent
from faceswap.domain.errors import ApiError

MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_KEY_MAX = 255


@dataclass(frozen=True)
class CreateSwapRequest:
    """The optional body of POST /v1/swaps (openapi.yaml: additionalProperties false).

    Checked by hand rather than with pydantic: three fields do not justify ~70 ms more cold start on every API call.
    """

    target_content_type: str = "image/jpeg"
    template_content_type: str = "image/jpeg"
    client_reference: str | None = None
    consent: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_json_object(cls, body: dict[str, Any]) -> CreateSwapRequest:
        unknown = sorted(set(body) - {field.name for field in fields(cls)})
        if unknown:
            raise ApiError("VALIDATION_ERROR", f"Unknown field(s): {', '.join(unknown)[:200]}.")
        for name in ("target_content_type", "template_content_type"):
            if name in body and not isinstance(body[name], str):
                raise ApiError("VALIDATION_ERROR", f"{name}: must be a string.")
            if name in body and body[name] not in UPLOAD_CONTENT_TYPES:
                raise ApiError("UNSUPPORTED_MEDIA_TYPE", f"{name} must be image/jpeg or image/png.")
        reference = body.get("client_reference", cls.client_reference)
        # openapi.yaml types it as a string: omit it for none; an explicit null is a wrong type.
        if "client_reference" in body and (not isinstance(reference, str) or not 1 <= len(reference) <= 128):
            raise ApiError("VALIDATION_ERROR", "client_reference: must be a string of 1 to 128 characters.")
        if isinstance(reference, str) and not reference.isascii():
            try:
                reference.encode("utf-8")  # JSON can escape lone UTF-16 surrogates; stores and events cannot hold them
            except UnicodeEncodeError:
                raise ApiError("VALIDATION_ERROR", "client_reference: must be valid Unicode text.") from None
        try:
            consent = parse_consent(body.get("consent"))
        except InvalidConsent as error:
            raise ApiError("VALIDATION_ERROR", str(error)) from None
        return cls(**{**body, "consent": consent})


def parse_create_request(raw_body: str | bytes | None, content_type: str | None) -> CreateSwapRequest:
    """`raw_body` is bytes when the gateway base64-encoded it (not declared as text, or not valid UTF-8)."""
    if raw_body is None or not raw_body.strip():
        return CreateSwapRequest()
    if len(raw_body if isinstance(raw_body, bytes) else raw_body.encode()) > MAX_BODY_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.")
    try:
        # JSON is UTF-8 (RFC 8259): invalid bytes raise UnicodeDecodeError, a ValueError.
        body = json.loads(raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body)
    except (ValueError, RecursionError) as error:
        raise ApiError("MALFORMED_JSON", "The request body is not valid JSON.") from error
    if not isinstance(body, dict):
        raise ApiError("MALFORMED_JSON", "The request body must be a JSON object.")
    return CreateSwapRequest.from_json_object(body)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not all(32 < ord(ch) < 127 for ch in key):
        raise ApiError("INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 printable ASCII characters.")
    return key


def check_job_id(job_id: str) -> str:
    if not ids.is_job_id(job_id):
        raise ApiError("INVALID_JOB_ID", "A job id is 32 lowercase hexadecimal characters.")
    return job_id


class SwapService:
    def __init__(self, store: JobStore | None = None, storage: Storage | None = None) -> None:
        self.config = settings()
        self.store = store or JobStore()
        self.storage = storage or Storage(self.config.bucket_name)

    # POST /v1/swaps
    def create(self, owner: str, request: CreateSwapRequest, idempotency_key: str | None) -> tuple[dict, bool]:
        if self.config.require_consent_attestation and not request.consent:
            raise ApiError(
                "CONSENT_REQUIRED",
                'This service requires a consent attestation: send "consent": {"attested": true, "reference": "..."}.',
            )
        fingerprint = request.fingerprint()
        job_id = ids.job_id_for_idempotency_key(owner, idempotency_key) if idempotency_key else ids.new_job_id()
        inputs = {role: {"bucket": self.storage.bucket, "key": upload_key(job_id, role)} for role in ROLES}
        job = new_job(
            job_id=job_id,
            owner=owner,
            origin="api",
            inputs=inputs,
            status=AWAITING_UPLOAD,
            client_reference=request.client_reference,
            idempotency_fingerprint=fingerprint,
            consent=request.consent,
        )
        replayed = not self.store.create(job)
        if replayed:
            existing = self.store.get(job_id)
            if existing is None or existing.owner != owner or existing.status == DELETED:
                raise ApiError("JOB_NOT_FOUND", "The job for this Idempotency-Key no longer exists.")
            if existing.idempotency_fingerprint != fingerprint:
                raise ApiError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request.")
            job = existing
        view = self.view(job)
        if job.status == AWAITING_UPLOAD:
            content_types = {"target": request.target_content_type, "template": request.template_content_type}
            view["uploads"] = {
                role: self.storage.presigned_upload(
                    upload_key(job_id, role), content_types[role], self.config.upload_url_expires_seconds
                )
                for role in ROLES
            }
        view["links"] = {"self": f"/v1/swaps/{job_id}", "start": f"/v1/swaps/{job_id}/start"}
        return view, replayed

    # GET /v1/swaps/{job_id}
    def get(self, owner: str, job_id: str) -> dict:
        return self.view(self._owned(owner, job_id))

    # POST /v1/swaps/{job_id}/start
    def start(self, owner: str, job_id: str) -> dict:
        job = self._owned(owner, job_id)
        if job.status == FAILED:
            raise ApiError("JOB_NOT_STARTABLE", "The job has failed; create a new job.")
        if job.status == AWAITING_UPLOAD:
            missing = [
                role for role in ROLES if role not in job.uploads and self.storage.head(job.inputs[role]["key"]) is None
            ]
            if missing:
                raise ApiError("UPLOADS_INCOMPLETE", f"Upload the {' and '.join(missing)} image first.")
            job = self.store.mark_queued(job_id) or self.store.require(job_id)
        if job.status == QUEUED:
            # Also when another caller queued it: StartExecution by job id is idempotent, and this heals a start
            # that was queued but whose execution could not be started.
            workflow_starter.start_execution(job_id)
        return self.view(job)

    # DELETE /v1/swaps/{job_id}
    def delete(self, owner: str, job_id: str) -> dict:
        job = self._owned(owner, job_id)
        if job.status in (QUEUED, PROCESSING):
            raise ApiError("JOB_IN_PROGRESS", "The job is running; delete it once it has finished.")
        keys = [ref["key"] for ref in job.inputs.values() if ref["key"].startswith("uploads/")]
        if job.result:
            keys.append(job.result["key"])
        self.storage.delete(keys)
        if self.store.mark_deleted(job_id) is None:
            raise ApiError("JOB_IN_PROGRESS", "The job changed while it was being deleted; try again.")
        return {"job_id": job_id, "status": DELETED}

    def _owned(self, owner: str, job_id: str) -> Job:
        job = self.store.get(check_job_id(job_id))
        # Another caller's job and a deleted job are indistinguishable from a missing one: no existence oracle.
        if job is None or job.owner != owner or job.status == DELETED:
            raise ApiError("JOB_NOT_FOUND", f"No job {job_id}.")
        return job

    def view(self, job: Job) -> dict[str, Any]:
        view: dict[str, Any] = {
            "job_id": job.job_id,
            "status": job.status,
            "origin": job.origin,
            "client_reference": job.client_reference,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "queued_at": job.queued_at,
            "submitted_at": job.submitted_at,
            "completed_at": job.completed_at,
            "polls": job.polls,
            "error": job.error if job.status == FAILED else None,
            "result": None,
            "consent": job.consent,
            "provenance": job.provenance,
        }
        if job.status == SUCCEEDED and job.result:
            url, expires_at = self.storage.presigned_download(
                job.result["key"], self.config.download_url_expires_seconds, bucket=job.result["bucket"]
            )
            view["result"] = {
                "url": url,
                "expires_at": expires_at,
                "content_type": job.result["content_type"],
                "size": job.result["size"],
                "sha256": job.result["sha256"],
                "provider_sha256": job.result.get("provider_sha256"),
            }
        return view
