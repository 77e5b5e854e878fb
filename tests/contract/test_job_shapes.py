"""The outward shapes of a job (faceswap.domain.job_views) agree with their published schemas, both ways: what the
projections build validates, and every documented field is built. A field added to a projection but not to its schema
(or the other way round) fails here, naming the field."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from faceswap.domain.job import FAILED, SUCCEEDED, Job
from faceswap.domain.job_views import ResultDownload, api_view, event_detail
from jsonschema import Draft202012Validator

from tests.contract.openapi_schemas import component_validator, load_spec

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"
BUCKET = "faceswap-123456789012-us-east-1"
JOB_ID = "0f4d5a3c9b2e4f60a1b2c3d4e5f60718"
SHA = "ab" * 32


def finished_job(status: str) -> Job:
    """A job with every field set (so a projection that forgets one shows it)."""
    return Job(
        job_id=JOB_ID,
        owner="iam:arn:aws:iam::123456789012:user/alice",
        status=status,
        origin="api",
        inputs={role: {"bucket": BUCKET, "key": f"uploads/{JOB_ID}/{role}"} for role in ("target", "template")},
        created_at="2026-05-04T10:00:00.000Z",
        updated_at="2026-05-04T10:00:20.000Z",
        expires_at=1786000000,
        client_reference="order-42",
        uploads={"target": {"size": 1000, "content_type": "image/jpeg"}},
        queued_at="2026-05-04T10:00:01.000Z",
        submitted_at="2026-05-04T10:00:02.000Z",
        completed_at="2026-05-04T10:00:20.000Z",
        deadline_at=1777889401,
        provider="ailabtools",
        provider_task_id="1714743372764.abc",
        polls=2,
        result={
            "bucket": BUCKET,
            "key": f"results/{JOB_ID}.jpg",
            "sha256": SHA,
            "size": 2048,
            "content_type": "image/jpeg",
            "provider_sha256": "a" * 64,
        }
        if status == SUCCEEDED
        else None,
        error={"code": "FACE_NOT_FOUND", "message": "no face"} if status == FAILED else None,
        terminal_event_sent=True,
        idempotency_fingerprint="f" * 64,
        webhook={
            "url": "https://hooks.example.com/faceswap?token=t",
            "host": "hooks.example.com",
            "events": ["succeeded", "failed"],
            "status": "delivered",
            "generation": 1,
            "attempts": 1,
            "last_status_code": 200,
            "last_attempt_at": "2026-05-04T10:00:21.000Z",
            "delivered_at": "2026-05-04T10:00:21.000Z",
        },
        consent={"attested": True, "reference": "consent-record-42"},
        input_digests={role: {"sha256": SHA, "content_type": "image/jpeg"} for role in ("target", "template")},
        provenance={
            "c2pa": True,
            "xmp": True,
            "watermark": True,
            "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
            "watermark_payload": JOB_ID[:12],
        }
        if status == SUCCEEDED
        else None,
    )


def event_schema(status: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"faceswap_{status}.schema.json").read_text(encoding="utf-8"))


def messages(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_the_job_fixture_sets_every_field():
    job = finished_job(SUCCEEDED)
    # error is set on failed jobs; submit_in_flight (and its submit_attempt) only while a submit's outcome is open.
    unset = [
        f.name
        for f in fields(Job)
        if getattr(job, f.name) in (None, {}, 0, False)
        and f.name not in ("error", "submit_in_flight", "submit_attempt")
    ]
    assert unset == [], "set these in finished_job() so the shape tests see them"


@pytest.mark.parametrize("status", [SUCCEEDED, FAILED])
def test_api_view_matches_the_openapi_job_schema(status):
    download = ResultDownload("https://s3.example.test/r.jpg?X-Amz-Signature=x", "2026-05-04T10:15:20Z")
    view = api_view(finished_job(status), download)
    assert messages(component_validator("Job"), view) == []
    documented = set(load_spec()["components"]["schemas"]["Job"]["properties"])
    assert set(view) == documented, (
        f"built, undocumented: {set(view) - documented}; documented, not built: {documented - set(view)}"
    )


def test_the_created_job_is_the_job_plus_uploads_and_links():
    schemas = load_spec()["components"]["schemas"]
    assert set(schemas["CreatedJob"]["properties"]) - {"uploads", "links"} == set(schemas["Job"]["properties"])
    assert set(schemas["CreatedJob"]["required"]) - {"links"} == set(schemas["Job"]["required"])


@pytest.mark.parametrize("status", [SUCCEEDED, FAILED])
def test_event_detail_matches_the_event_schema(status):
    schema = event_schema(status)
    detail = event_detail(finished_job(status))
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": schema["properties"]["detail-type"]["const"],
        "source": "faceswap",
        "account": "123456789012",
        "time": "2026-05-04T10:00:20Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert messages(validator, event) == []
    documented = set(schema["properties"]["detail"]["properties"])
    assert set(detail) == documented, (
        f"built, undocumented: {set(detail) - documented}; documented, not built: {documented - set(detail)}"
    )


def test_both_terminal_events_carry_the_same_fields():
    succeeded, failed = (event_schema(status)["properties"]["detail"] for status in (SUCCEEDED, FAILED))
    assert set(succeeded["properties"]) == set(failed["properties"])
    assert set(succeeded["required"]) == set(failed["required"])
