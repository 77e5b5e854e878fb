"""Settings read from the function's environment (set by template.yaml), once per process."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the provider's documented limit
MAX_UPLOAD_URL_EXPIRES = 900  # presigned upload forms live at most 15 minutes


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


def _bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return default if not raw else raw in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    bucket_name: str
    event_bus_name: str
    event_source: str
    state_machine_arn: str
    provider_name: str
    provider_base_url: str
    provider_api_key_secret_arn: str
    provider_connect_timeout: float
    provider_read_timeout: float
    job_timeout_seconds: int
    upload_url_expires_seconds: int
    download_url_expires_seconds: int
    max_result_bytes: int
    result_download_seconds: float
    allow_insecure_result_urls: bool
    job_record_ttl_days: int
    poll_expected_seconds: float
    poll_min_seconds: int
    poll_max_seconds: int
    poll_inline_seconds: int
    poll_inline_max_wait: int
    limits_table: str
    inbox_pair_watch_arn: str
    inbox_pair_timeout_seconds: int
    max_active_jobs_per_caller: int
    max_jobs_per_caller_per_day: int
    max_event_jobs_per_day: int
    result_retention_days: int
    allow_insecure_webhook_urls: bool
    default_webhook_url: str
    webhook_queue_url: str
    webhook_dead_letter_queue_url: str
    webhook_signing_secret_arn: str
    webhook_secret_max_age_seconds: int
    webhook_timeout_seconds: float
    webhook_retry_base_seconds: float
    webhook_retry_cap_seconds: float
    webhook_retry_budget_seconds: float
    webhook_result_url_expires_seconds: int
    list_cursor_secret_arn: str
    provenance_mode: str
    provenance_signing_secret_arn: str
    require_consent_attestation: bool

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            jobs_table=os.environ.get("JOBS_TABLE", ""),
            bucket_name=os.environ.get("BUCKET_NAME", ""),
            event_bus_name=os.environ.get("EVENT_BUS_NAME", "default"),
            event_source=os.environ.get("EVENT_SOURCE", "faceswap"),
            state_machine_arn=os.environ.get("STATE_MACHINE_ARN", ""),
            provider_name=os.environ.get("PROVIDER", "ailabtools"),
            provider_base_url=os.environ.get("PROVIDER_BASE_URL", "https://www.ailabapi.com"),
            provider_api_key_secret_arn=os.environ.get("PROVIDER_API_KEY_SECRET_ARN", ""),
            provider_connect_timeout=_float("PROVIDER_CONNECT_TIMEOUT", 3.05),
            provider_read_timeout=_float("PROVIDER_READ_TIMEOUT", 25.0),
            job_timeout_seconds=_int("JOB_TIMEOUT_SECONDS", 600),
            upload_url_expires_seconds=min(_int("UPLOAD_URL_EXPIRES_SECONDS", 900), MAX_UPLOAD_URL_EXPIRES),
            download_url_expires_seconds=_int("DOWNLOAD_URL_EXPIRES_SECONDS", 900),
            max_result_bytes=_int("MAX_RESULT_BYTES", 25 * 1024 * 1024),
            result_download_seconds=_float("RESULT_DOWNLOAD_SECONDS", 20.0),
            allow_insecure_result_urls=_bool("ALLOW_INSECURE_RESULT_URLS"),
            job_record_ttl_days=_int("JOB_RECORD_TTL_DAYS", 90),
            poll_expected_seconds=_float("POLL_EXPECTED_SECONDS", 12.0),
            poll_min_seconds=_int("POLL_MIN_SECONDS", 2),
            poll_max_seconds=_int("POLL_MAX_SECONDS", 30),
            poll_inline_seconds=_int("POLL_INLINE_SECONDS", 0),
            poll_inline_max_wait=_int("POLL_INLINE_MAX_WAIT", 6),
            limits_table=os.environ.get("LIMITS_TABLE", ""),
            inbox_pair_watch_arn=os.environ.get("INBOX_PAIR_WATCH_ARN", ""),
            inbox_pair_timeout_seconds=_int("INBOX_PAIR_TIMEOUT_SECONDS", 3600),
            max_active_jobs_per_caller=_int("MAX_ACTIVE_JOBS_PER_CALLER", 10),
            max_jobs_per_caller_per_day=_int("MAX_JOBS_PER_CALLER_PER_DAY", 1000),
            max_event_jobs_per_day=_int("MAX_EVENT_JOBS_PER_DAY", 10000),
            result_retention_days=_int("RESULT_RETENTION_DAYS", 30),
            allow_insecure_webhook_urls=_bool("ALLOW_INSECURE_WEBHOOK_URLS"),
            default_webhook_url=os.environ.get("DEFAULT_WEBHOOK_URL", "").strip(),
            webhook_queue_url=os.environ.get("WEBHOOK_QUEUE_URL", ""),
            webhook_dead_letter_queue_url=os.environ.get("WEBHOOK_DEAD_LETTER_QUEUE_URL", ""),
            webhook_signing_secret_arn=os.environ.get("WEBHOOK_SIGNING_SECRET_ARN", ""),
            webhook_secret_max_age_seconds=_int("WEBHOOK_SECRET_MAX_AGE_SECONDS", 300),
            webhook_timeout_seconds=_float("WEBHOOK_TIMEOUT_SECONDS", 10.0),
            webhook_retry_base_seconds=_float("WEBHOOK_RETRY_BASE_SECONDS", 5.0),
            webhook_retry_cap_seconds=_float("WEBHOOK_RETRY_CAP_SECONDS", 36000.0),
            webhook_retry_budget_seconds=_float("WEBHOOK_RETRY_BUDGET_SECONDS", 86400.0),
            webhook_result_url_expires_seconds=_int("WEBHOOK_RESULT_URL_EXPIRES_SECONDS", 3600),
            list_cursor_secret_arn=os.environ.get("LIST_CURSOR_SECRET_ARN", ""),
            provenance_mode=os.environ.get("PROVENANCE_MODE", "full").strip().lower() or "full",
            provenance_signing_secret_arn=os.environ.get("PROVENANCE_SIGNING_SECRET_ARN", ""),
            require_consent_attestation=_bool("REQUIRE_CONSENT_ATTESTATION"),
        )


@functools.cache
def settings() -> Settings:
    """The function's settings: its environment does not change during the life of a sandbox."""
    return Settings.from_env()
