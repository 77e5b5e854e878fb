"""The ways a job starts without the API: browser uploads landing in S3, the S3 drop zone, and EventBridge requests.

Every path is safe to repeat: S3 and EventBridge deliver at least once, so each path derives or looks up the job id,
writes conditionally, and (re)starts the execution named after the job, which cannot run twice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from faceswap.adapters import workflow_starter
from faceswap.adapters.job_table import JobStore, new_job
from faceswap.adapters.storage import Storage
from faceswap.adapters.usage_limits import LimitExceeded, UsageLimits
from faceswap.config import MAX_IMAGE_BYTES, settings
from faceswap.domain import ids, webhooks
from faceswap.domain.clock import iso, now_epoch
from faceswap.domain.consent import InvalidConsent, consent_from_object_metadata, parse_consent
from faceswap.domain.errors import ApiError, JobError
from faceswap.domain.images import InvalidImageError, inspect_image
from faceswap.domain.job import AWAITING_UPLOAD, DELETED, FAILED, QUEUED, ROLES, Job
from faceswap.domain.webhook_urls import parse_webhook_request
from faceswap.usecases.job_endings import fail_job

_UPLOAD_KEY = re.compile(r"^uploads/([0-9a-f]{32})/(target|template)$")
# Only role and extension ignore case: the prefix is case-sensitive like the S3 notification filter and IAM policy.
_INBOX_KEY = re.compile(r"^inbox/(?P<name>.+)/(?P<role>(?i:target|template))\.(?P<ext>(?i:jpg|jpeg|png))$")
INBOX_OWNER = "system:s3_inbox"
EVENTBRIDGE_OWNER = "system:eventbridge"


@dataclass(frozen=True)
class IntakeOutcome:
    key: str
    action: str  # "ignored", "recorded", "started", "duplicate", "rejected"
    job_id: str | None = None
    error_code: str | None = None


def object_keys(s3_event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of every record; keys arrive URL-encoded (spaces as '+')."""
    pairs = []
    for record in s3_event.get("Records") or []:
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if bucket and key:
            pairs.append((bucket, unquote_plus(key)))
    return pairs


class Intake:
    def __init__(self, store: JobStore | None = None, storage: Storage | None = None) -> None:
        self.config = settings()
        self.store = store or JobStore()
        self.storage = storage or Storage(self.config.bucket_name)

    def handle_object(self, bucket: str, key: str) -> IntakeOutcome:
        if bucket != self.storage.bucket:
            return IntakeOutcome(key, "ignored")
        if match := _UPLOAD_KEY.match(key):
            return self._upload_arrived(key, match.group(1), match.group(2))
        if match := _INBOX_KEY.match(key):
            return self._inbox_object_arrived(key, match.group("name"), match.group("role").lower())
        return IntakeOutcome(key, "ignored")

    # -- browser uploads for API jobs --------------------------------------------------------------------------
    def _upload_arrived(self, key: str, job_id: str, role: str) -> IntakeOutcome:
        job = self.store.get(job_id)
        if job is None:
            # No job: a stale or foreign object. Removing it keeps uploads/ holding only what a job refers to.
            self.storage.delete([key])
            return IntakeOutcome(key, "ignored", job_id)
        if job.status in (DELETED, FAILED):
            # A late upload to a deleted or failed job: its photos are gone for good, this one too.
            self.storage.delete([key])
            return IntakeOutcome(key, "ignored", job_id)
        if job.status != AWAITING_UPLOAD:
            return self._ensure_started(job, key)
        sized = self.storage.read_sized(key, max_bytes=MAX_IMAGE_BYTES)
        if sized is None:
            return IntakeOutcome(key, "ignored", job_id)  # deleted since the event was sent
        try:
            info = inspect_image(sized[0], total_size=sized[1])
        except InvalidImageError as error:
            # The POST policy is enforced by S3 in AWS but not by every S3 look-alike: re-check server side.
            self.storage.delete([key])
            fail_job(
                self.store,
                job_id,
                JobError(error.code, f"The {role} image was rejected: {error.message}"),
                self.storage,
            )
            return IntakeOutcome(key, "rejected", job_id, error.code)
        updated = self.store.record_upload(
            job_id,
            role,
            {"size": info.size_bytes, "content_type": info.content_type, "width": info.width, "height": info.height},
        )
        job = updated or self.store.require(job_id)
        if job.status == AWAITING_UPLOAD and all(r in job.uploads for r in ROLES):
            job = self.store.mark_queued(job_id) or self.store.require(job_id)
        if job.status == QUEUED:
            return self._ensure_started(job, key)
        return IntakeOutcome(key, "recorded", job_id)

    def _ensure_started(self, job: Job, key: str) -> IntakeOutcome:
        if job.status != QUEUED:
            return IntakeOutcome(key, "duplicate", job.job_id)
        started = workflow_starter.start_execution(job.job_id)
        return IntakeOutcome(key, "started" if started else "duplicate", job.job_id)

    # -- the S3 drop zone --------------------------------------------------------------------------------------
    def _inbox_object_arrived(self, key: str, name: str, role: str) -> IntakeOutcome:
        refs: dict[str, tuple[str, str]] = {}  # role -> (key, etag)
        this = self.storage.head(key)
        if this is None:
            return IntakeOutcome(key, "ignored")
        refs[role] = (key, this.etag)
        metadata = [this.metadata]
        partner_role = "template" if role == "target" else "target"
        # One LIST finds the partner whatever the case of its extension (S3 keys are case-sensitive).
        for partner_key in sorted(self.storage.list_keys(f"inbox/{name}/{partner_role}.")):
            match = _INBOX_KEY.match(partner_key)
            if match and match.group("name") == name and match.group("role").lower() == partner_role:
                partner = self.storage.head(partner_key)
                if partner is not None:
                    refs[partner_role] = (partner_key, partner.etag)
                    metadata.append(partner.metadata)
                    break
        if partner_role not in refs:
            self._watch_lone_photo(key, this.etag)
            return IntakeOutcome(key, "recorded")  # the pair is not complete yet
        job_id = ids.job_id_for_inbox_pair(self.storage.bucket, name, refs["target"][1], refs["template"][1])
        inputs = {r: {"bucket": self.storage.bucket, "key": refs[r][0]} for r in ROLES}
        consent = consent_from_object_metadata(*metadata)
        return self._create_and_start(
            job_id,
            INBOX_OWNER,
            "s3_inbox",
            inputs,
            None,
            key,
            check_images=True,
            webhook=self._default_webhook(),
            consent=consent,
        )

    def _watch_lone_photo(self, key: str, etag: str) -> None:
        """Schedule the check that fails a pair whose partner never arrives (one watch per photo and content)."""
        if not self.config.inbox_pair_watch_arn:
            return  # no watch configured: a lone photo just waits for its partner
        watch_id = ids.job_id_for_incomplete_pair(self.storage.bucket, key, etag)
        workflow_starter.start_pair_watch(
            f"pair-{watch_id}",
            {"key": key, "etag": etag, "wait_seconds": self.config.inbox_pair_timeout_seconds},
        )

    def check_lone_photo(self, key: str, etag: str) -> IntakeOutcome:
        """After the pair timeout: if this photo is still there, unchanged, and still without a partner, record a
        failed job for it with INPUT_INCOMPLETE, which announces `FaceSwap Failed` (once, however often checked)."""
        match = _INBOX_KEY.match(key)
        this = self.storage.head(key) if match else None
        if match is None or this is None or this.etag != etag:
            return IntakeOutcome(key, "ignored")  # gone or replaced: a newer photo has its own watch
        name, role = match.group("name"), match.group("role").lower()
        partner_role = "template" if role == "target" else "target"
        for partner_key in self.storage.list_keys(f"inbox/{name}/{partner_role}."):
            partner = _INBOX_KEY.match(partner_key)
            if partner and partner.group("name") == name and partner.group("role").lower() == partner_role:
                return IntakeOutcome(key, "duplicate")  # the pair completed: its job says how it went
        job_id = ids.job_id_for_incomplete_pair(self.storage.bucket, key, etag)
        inputs = {
            role: {"bucket": self.storage.bucket, "key": key},
            partner_role: {"bucket": self.storage.bucket, "key": ""},
        }
        job = new_job(
            job_id=job_id,
            owner=INBOX_OWNER,
            origin="s3_inbox",
            inputs=inputs,
            status=QUEUED,
            webhook=self._default_webhook(),
        )
        self.store.create(job)
        minutes = self.config.inbox_pair_timeout_seconds / 60
        message = f"No {partner_role} photo arrived in inbox/{name}/ within {minutes:g} minutes of the {role} photo."
        fail_job(self.store, job_id, JobError("INPUT_INCOMPLETE", message), self.storage)
        return IntakeOutcome(key, "rejected", job_id, "INPUT_INCOMPLETE")

    # -- EventBridge "FaceSwap Requested" ----------------------------------------------------------------------
    def handle_request_event(self, event: dict[str, Any]) -> IntakeOutcome:
        raw_detail = event.get("detail")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        request_key = detail.get("idempotency_key") if isinstance(detail.get("idempotency_key"), str) else None
        job_id = ids.job_id_for_request_event(request_key or str(event.get("id", "")))
        reference = detail.get("client_reference")
        reference = reference[:128] if isinstance(reference, str) and reference else None
        if reference is not None and not _encodable(reference):
            reference = None  # a lone UTF-16 surrogate: no AWS API can store it, and it only labels the job
        inputs, problem = self._request_inputs(detail)
        consent = None
        try:
            consent = parse_consent(detail.get("consent"))
        except InvalidConsent as error:
            problem = problem or str(error)
        webhook = self._default_webhook()
        if "webhook" in detail:
            try:
                allow_local = self.config.allow_insecure_webhook_urls
                webhook = webhooks.initial_state(
                    parse_webhook_request(detail["webhook"], allow_insecure_local=allow_local)
                )
            except ApiError as error:
                problem = problem or f"detail.{error.message}"
        if problem:
            job = new_job(
                job_id=job_id,
                owner=EVENTBRIDGE_OWNER,
                origin="eventbridge",
                inputs=inputs,
                status=QUEUED,
                client_reference=reference,
            )
            if self.store.create(job):
                fail_job(self.store, job_id, JobError("INVALID_REQUEST", problem))
                return IntakeOutcome(job_id, "rejected", job_id, "INVALID_REQUEST")
            return IntakeOutcome(job_id, "duplicate", job_id)
        return self._create_and_start(
            job_id,
            EVENTBRIDGE_OWNER,
            "eventbridge",
            inputs,
            reference,
            job_id,
            check_images=False,
            webhook=webhook,
            consent=consent,
        )

    def _default_webhook(self) -> dict[str, Any] | None:
        """The DefaultWebhookUrl parameter, for jobs that did not name a webhook (drop zone, EventBridge)."""
        url = self.config.default_webhook_url
        if not url:
            return None
        try:
            request = parse_webhook_request({"url": url}, allow_insecure_local=self.config.allow_insecure_webhook_urls)
        except ApiError:
            return None  # the template's AllowedPattern already demands https; an unusable default sends nothing
        return webhooks.initial_state(request)

    def _request_inputs(self, detail: dict[str, Any]) -> tuple[dict[str, dict[str, str]], str | None]:
        inputs: dict[str, dict[str, str]] = {}
        problem = None
        for role in ROLES:
            ref = detail.get(role)
            bucket = ref.get("bucket") if isinstance(ref, dict) else None
            key = ref.get("key") if isinstance(ref, dict) else None
            if not isinstance(bucket, str) or not isinstance(key, str) or not key or len(key) > 1024:
                problem = problem or f"detail.{role} must be an object with string bucket and key."
                inputs[role] = {"bucket": str(bucket or ""), "key": str(key or "")[:1024]}
                continue
            inputs[role] = {"bucket": bucket, "key": key}
            if bucket != self.storage.bucket:
                problem = problem or f"detail.{role}.bucket must be the application's bucket {self.storage.bucket}."
            elif not (key.startswith("inbox/") or key.startswith("uploads/")):
                problem = problem or f"detail.{role}.key must be under inbox/ or uploads/."
        return inputs, problem

    def _create_and_start(
        self,
        job_id: str,
        owner: str,
        origin: str,
        inputs: dict[str, dict[str, str]],
        reference: str | None,
        key: str,
        *,
        check_images: bool,
        webhook: dict[str, Any] | None = None,
        consent: dict[str, Any] | None = None,
    ) -> IntakeOutcome:
        job = new_job(
            job_id=job_id,
            owner=owner,
            origin=origin,
            inputs=inputs,
            status=QUEUED,
            client_reference=reference,
            webhook=webhook,
            consent=consent,
        )
        now = now_epoch()
        job.queued_at = iso(now)
        job.deadline_at = math.ceil(now + self.config.job_timeout_seconds)
        rejection = self._check_inputs(inputs) if check_images else None
        if rejection is None and self.config.require_consent_attestation and not consent:
            rejection = JobError(
                "CONSENT_REQUIRED",
                "This service requires a consent attestation: S3 metadata consent-attested=true on a drop-zone photo, "
                'or "consent": {"attested": true} in the request event.',
            )
        if not self.store.create(job):
            return self._ensure_started(self.store.require(job_id), key)
        rejection = rejection or self._over_deployment_limit()
        if rejection:
            fail_job(self.store, job_id, rejection)
            return IntakeOutcome(key, "rejected", job_id, rejection.code)
        workflow_starter.start_execution(job_id)
        return IntakeOutcome(key, "started", job_id)

    def _over_deployment_limit(self) -> JobError | None:
        """Count the new job against the drop zone's and EventBridge's shared daily limit."""
        if not self.config.limits_table:
            return None
        limits = UsageLimits(
            self.config.limits_table,
            self.store,
            max_active=self.config.max_active_jobs_per_caller,
            max_per_day=self.config.max_jobs_per_caller_per_day,
            stale_upload_seconds=self.config.upload_url_expires_seconds + 60,
        )
        try:
            limits.count_deployment_job(self.config.max_event_jobs_per_day)
        except LimitExceeded as exceeded:
            return JobError(exceeded.code, exceeded.message)
        return None

    def _check_inputs(self, inputs: dict[str, dict[str, str]]) -> JobError | None:
        for role in ROLES:
            sized = self.storage.read_sized(inputs[role]["key"], max_bytes=MAX_IMAGE_BYTES)
            if sized is None:
                return JobError("IMAGE_MISSING", f"The {role} image does not exist.")
            try:
                inspect_image(sized[0], total_size=sized[1])
            except InvalidImageError as error:
                return JobError(error.code, f"The {role} image was rejected: {error.message}")
        return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
