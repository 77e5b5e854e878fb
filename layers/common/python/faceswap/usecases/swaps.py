"""The HTTP API's use cases: create a job with upload forms, read it, start it, delete it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from faceswap.adapters import secret_values, webhook_queue, workflow_starter
from faceswap.adapters.job_table import JobStore, new_job
from faceswap.adapters.storage import Storage, upload_key
from faceswap.adapters.usage_limits import LimitExceeded, UsageLimits
from faceswap.config import settings
from faceswap.domain import ids, webhooks
from faceswap.domain.consent import InvalidConsent, parse_consent
from faceswap.domain.cursors import decode_cursor, encode_cursor
from faceswap.domain.errors import ApiError
from faceswap.domain.job import AWAITING_UPLOAD, DELETED, FAILED, PROCESSING, QUEUED, ROLES, SUCCEEDED, Job
from faceswap.domain.job_views import ResultDownload, api_view
from faceswap.domain.webhook_urls import WebhookRequest, parse_webhook_request
from faceswap.usecases import request_validation

MAX_BODY_BYTES = 16 * 1024
IDEMPOTENCY_KEY_MAX = 255
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100
LISTABLE_STATUSES = (AWAITING_UPLOAD, QUEUED, PROCESSING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class CreateSwapRequest:
    """The optional body of POST /v1/swaps, checked against `CreateSwapRequest` in openapi.yaml."""

    target_content_type: str = "image/jpeg"
    template_content_type: str = "image/jpeg"
    client_reference: str | None = None
    webhook: WebhookRequest | None = None
    consent: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        fields_ = asdict(self)
        for optional in ("webhook", "consent"):
            if fields_[optional] is None:
                del fields_[optional]  # requests without one keep the fingerprint they had before it existed
        return hashlib.sha256(json.dumps(fields_, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_json_object(cls, body: dict[str, Any]) -> CreateSwapRequest:
        request_validation.validate("CreateSwapRequest", body)
        reference = body.get("client_reference")
        if isinstance(reference, str) and not reference.isascii():
            try:
                reference.encode("utf-8")  # JSON can escape lone UTF-16 surrogates; stores and events cannot hold them
            except UnicodeEncodeError:
                raise ApiError("VALIDATION_ERROR", "client_reference: must be valid Unicode text.") from None
        webhook = None
        if "webhook" in body:
            allow_local = settings().allow_insecure_webhook_urls
            webhook = parse_webhook_request(body["webhook"], allow_insecure_local=allow_local)
        try:
            consent = parse_consent(body.get("consent"))
        except InvalidConsent as error:
            raise ApiError("VALIDATION_ERROR", str(error)) from None
        return cls(**{**body, "webhook": webhook, "consent": consent})


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

    def _limits(self) -> UsageLimits | None:
        config = settings()  # read per request, like every other setting: the service object outlives them
        if not config.limits_table:
            return None  # a deployment without the limits table (none is configured) has no per-caller limits
        return UsageLimits(
            config.limits_table,
            self.store,
            max_active=config.max_active_jobs_per_caller,
            max_per_day=config.max_jobs_per_caller_per_day,
            stale_upload_seconds=config.upload_url_expires_seconds + 60,
        )

    def _admit(self, owner: str, job_id: str) -> None:
        limits = self._limits()
        if limits is None:
            return
        try:
            limits.admit(owner, job_id)
        except LimitExceeded as exceeded:
            raise ApiError(
                exceeded.code, exceeded.message, headers={"Retry-After": str(exceeded.retry_after)}
            ) from None

    # POST /v1/swaps
    def create(
        self, owner: str, request: CreateSwapRequest, idempotency_key: str | None
    ) -> tuple[dict[str, Any], bool]:
        if self.config.require_consent_attestation and not request.consent:
            raise ApiError(
                "CONSENT_REQUIRED",
                'This service requires a consent attestation: send "consent": {"attested": true, "reference": "..."}.',
            )
        fingerprint = request.fingerprint()
        job_id = ids.job_id_for_idempotency_key(owner, idempotency_key) if idempotency_key else ids.new_job_id()
        if not (idempotency_key and self.store.get(job_id)):  # a replay spends no quota
            self._admit(owner, job_id)
        inputs = {role: {"bucket": self.storage.bucket, "key": upload_key(job_id, role)} for role in ROLES}
        job = new_job(
            job_id=job_id,
            owner=owner,
            origin="api",
            inputs=inputs,
            status=AWAITING_UPLOAD,
            client_reference=request.client_reference,
            idempotency_fingerprint=fingerprint,
            webhook=webhooks.initial_state(request.webhook) if request.webhook else None,
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
    def get(self, owner: str, job_id: str) -> dict[str, Any]:
        return self.view(self._owned(owner, job_id))

    # GET /v1/swaps?status=&limit=&cursor=
    def list(self, owner: str, params: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(params) - {"status", "limit", "cursor"})
        if unknown:
            raise ApiError("VALIDATION_ERROR", f"Unknown query parameter(s): {', '.join(unknown)[:200]}.")
        status = params.get("status")
        if status is not None and status not in LISTABLE_STATUSES:
            raise ApiError("VALIDATION_ERROR", f"status must be one of {', '.join(LISTABLE_STATUSES)}.")
        raw_limit = params.get("limit", str(LIST_LIMIT_DEFAULT))
        if not raw_limit.isascii() or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= LIST_LIMIT_MAX:
            raise ApiError("VALIDATION_ERROR", f"limit must be an integer from 1 to {LIST_LIMIT_MAX}.")
        key = self._cursor_key()
        start = None
        if "cursor" in params:  # present but empty is a bad cursor, not "from the start"
            start = decode_cursor(params["cursor"], owner=owner, status=status, key=key)
        jobs, last = self.store.list_owned(owner, status=status, limit=int(raw_limit), start_key=start)
        next_cursor = encode_cursor(last, owner=owner, status=status, key=key) if last else None
        return {"items": [self.view(job) for job in jobs], "next_cursor": next_cursor}

    def _cursor_key(self) -> bytes:
        value = secret_values.secret_string(self.config.list_cursor_secret_arn, max_age=3600)
        return hashlib.sha256(b"faceswap list cursor\0" + value.encode("utf-8")).digest()

    # POST /v1/swaps/{job_id}/webhook/redeliver
    def redeliver_webhook(self, owner: str, job_id: str) -> dict[str, Any]:
        job = self._owned(owner, job_id)
        hook = job.webhook
        if not hook:
            raise ApiError("WEBHOOK_NOT_CONFIGURED", "This job has no webhook.")
        if hook.get("status") == webhooks.PENDING or job.status not in (SUCCEEDED, FAILED):
            raise ApiError("WEBHOOK_DELIVERY_PENDING", "A delivery of this webhook is pending; wait for it to end.")
        if job.status not in (hook.get("events") or []):
            raise ApiError("WEBHOOK_NOT_CONFIGURED", f"The webhook is not subscribed to {job.status} jobs.")
        updated = self.store.request_webhook_redelivery(job_id)
        if updated is None or not updated.webhook:
            raise ApiError("WEBHOOK_DELIVERY_PENDING", "A delivery of this webhook is pending; wait for it to end.")
        generation = int(updated.webhook["generation"])
        try:
            webhook_queue.send_redelivery(job_id, generation)
        except Exception:
            # Not queued: end the round again so that the caller can retry instead of waiting for nothing.
            self.store.end_webhook_round(job_id, generation, webhooks.FAILED, "the redelivery could not be queued")
            raise
        return self.view(updated)

    # POST /v1/swaps/{job_id}/start
    def start(self, owner: str, job_id: str) -> dict[str, Any]:
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
    def delete(self, owner: str, job_id: str) -> dict[str, Any]:
        job = self._owned(owner, job_id)
        if job.status in (QUEUED, PROCESSING):
            raise ApiError("JOB_IN_PROGRESS", "The job is running; delete it once it has finished.")
        keys = [ref["key"] for ref in job.inputs.values() if ref["key"].startswith("uploads/")]
        if job.result:
            keys.append(job.result["key"])
        self.storage.delete(keys)
        if self.store.mark_deleted(job_id) is None:
            raise ApiError("JOB_IN_PROGRESS", "The job changed while it was being deleted; try again.")
        limits = self._limits()
        if limits is not None:
            limits.release(owner, job_id)  # a deleted job waiting for uploads frees its slot now
        return {"job_id": job_id, "status": DELETED}

    def _owned(self, owner: str, job_id: str) -> Job:
        job = self.store.get(check_job_id(job_id))
        # Another caller's job and a deleted job are indistinguishable from a missing one: no existence oracle.
        if job is None or job.owner != owner or job.status == DELETED:
            raise ApiError("JOB_NOT_FOUND", f"No job {job_id}.")
        return job

    def view(self, job: Job) -> dict[str, Any]:
        download = None
        if job.status == SUCCEEDED and job.result:
            url, expires_at = self.storage.presigned_download(
                job.result["key"], self.config.download_url_expires_seconds, bucket=job.result["bucket"]
            )
            download = ResultDownload(url, expires_at)
        return api_view(job, download)
