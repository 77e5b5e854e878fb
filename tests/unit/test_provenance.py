"""Labelling checked with readers we did not write (exiftool, the c2pa library's Reader), plus the verifier, the
archive step's modes and failures, and consent attestation."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import c2pa
import numpy as np
import pytest
from botocore.stub import Stubber
from faceswap.adapters import aws_clients
from faceswap.adapters.job_table import PROCESSING, JobStore, new_job
from faceswap.domain.consent import InvalidConsent, consent_from_object_metadata, parse_consent
from faceswap.domain.errors import ApiError, JobFailure
from faceswap.provenance import DIGITAL_SOURCE_TYPE, credentials, watermark
from faceswap.provenance.errors import ProvenanceTransientError
from faceswap.provenance.labelling import LabelRequest, label
from faceswap.usecases.intake import Intake
from faceswap.usecases.swaps import CreateSwapRequest, SwapService
from faceswap.usecases.workflow_steps import Steps
from faceswap_client.cli import main as cli_main
from faceswap_client.verification import VerifyExit, verify_bytes
from faceswap_local.dev_ca import create_dev_credentials, ensure_dev_credentials
from PIL import Image

from tests.unit.conftest import BUCKET, REGION, image_bytes

SAMPLES = Path(__file__).resolve().parents[2] / ".cache" / "samples"
JOB_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def dev_credentials():
    return create_dev_credentials()


@pytest.fixture(scope="module")
def signing(dev_credentials):
    return credentials.parse(dev_credentials.secret_string())


def photo(fmt: str) -> bytes:
    image = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def request(mode: str = "full", consent: dict | None = None) -> LabelRequest:
    return LabelRequest(
        job_id=JOB_ID,
        mode=mode,
        provider="ailabtools",
        input_sha256={"target": "a" * 64, "template": "b" * 64},
        input_content_types={"target": "image/jpeg", "template": "image/png"},
        consent=consent,
    )


def c2pa_store(data: bytes, content_type: str) -> dict:
    with c2pa.Reader(content_type, io.BytesIO(data)) as reader:
        return json.loads(reader.json())


def failure_codes(store: dict) -> set[str]:
    return {item["code"] for item in store["validation_results"]["activeManifest"].get("failure", [])}


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_labelled_results_are_read_by_exiftool_and_validated_by_c2pa(fmt, content_type, signing, tmp_path):
    labelled = label(
        photo(fmt), content_type, request(consent={"attested": True, "reference": "rec-7"}), lambda: signing
    )
    assert labelled.provenance == {
        "c2pa": True,
        "xmp": True,
        "watermark": True,
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "watermark_payload": JOB_ID[:12],
    }
    path = tmp_path / f"result.{fmt.lower()}"
    path.write_bytes(labelled.data)
    exiftool = shutil.which("exiftool")
    assert exiftool, "exiftool is missing: make test installs libimage-exiftool-perl"
    tags = json.loads(subprocess.run([exiftool, "-j", "-G1", str(path)], capture_output=True, check=True).stdout)[0]
    assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert "faceswap-service" in tags["XMP-photoshop:Credit"]

    store = c2pa_store(labelled.data, content_type)
    assert store["validation_state"] == "Valid"
    assert failure_codes(store) == {"signingCredential.untrusted"}  # a self-made CA: valid, but nobody trusts it
    manifest = store["manifests"][store["active_manifest"]]
    (action,) = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert action["action"] == "c2pa.created" and action["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert action["softwareAgent"] == {"name": "faceswap-service", "version": "0.1.0"}
    assert action["parameters"]["provider"] == "ailabtools"
    assert sorted(i["instance_id"] for i in manifest["ingredients"]) == [
        "urn:sha256:" + "a" * 64,
        "urn:sha256:" + "b" * 64,
    ]
    assert "thumbnail" not in manifest and all("thumbnail" not in i for i in manifest["ingredients"])
    consent = next(a for a in manifest["assertions"] if a["label"] == "org.faceswap.consent")
    assert consent["data"] == {"attested": True, "reference": "rec-7"}


def test_one_changed_pixel_byte_is_reported_tampered(signing):
    data = label(photo("JPEG"), "image/jpeg", request(), lambda: signing).data
    assert verify_bytes(data).exit_code == VerifyExit.VALID
    scan = data.rfind(b"\xff\xda")
    changed = bytearray(data)
    changed[scan + (len(data) - scan) // 2] ^= 0x01
    assert "assertion.dataHash.mismatch" in failure_codes(c2pa_store(bytes(changed), "image/jpeg"))
    report = verify_bytes(bytes(changed))
    assert report.manifest.state == "tampered" and report.exit_code == VerifyExit.TAMPERED


@pytest.mark.parametrize("quality", [90, 75, 50])
def test_reencoding_drops_the_manifest_but_the_watermark_is_still_found(signing, quality):
    data = label(photo("PNG"), "image/png", request(), lambda: signing).data
    copy = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(copy, "JPEG", quality=quality)
    with pytest.raises(c2pa.C2paError):
        c2pa_store(copy.getvalue(), "image/jpeg")
    report = verify_bytes(copy.getvalue())
    assert report.manifest.state == "absent" and report.xmp_digital_source_type is None
    assert report.watermark_found and report.watermark_payload == JOB_ID[:12]
    assert report.exit_code == VerifyExit.MARK_ONLY


def test_watermark_survives_resize_and_crop_and_is_absent_from_unmarked_photos(signing):
    data = label(photo("JPEG"), "image/jpeg", request(), lambda: signing).data
    marked = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    half = np.asarray(Image.fromarray(marked).resize((marked.shape[1] // 2, marked.shape[0] // 2)))
    height, width = marked.shape[:2]
    cropped = marked[height // 20 : height - height // 20, width // 20 : width - width // 20]
    for variant in (half, cropped):
        assert watermark.detect(variant).payload == JOB_ID[:12]
    for name in ("astronaut.png", "camera.png", "grace_hopper.jpg"):
        unmarked = np.asarray(Image.open(SAMPLES / name).convert("RGB"))
        assert not watermark.detect(unmarked).found
        assert not watermark.detect(unmarked[17:-9, 5:-30]).found


def test_trust_anchor_makes_the_signer_trusted(signing, dev_credentials, tmp_path, capsys):
    path = tmp_path / "result.jpg"
    path.write_bytes(label(photo("JPEG"), "image/jpeg", request(), lambda: signing).data)
    anchors = tmp_path / "ca.pem"
    anchors.write_text(dev_credentials.ca_pem)
    assert cli_main(["verify", str(path), "--require-trusted"]) == VerifyExit.UNTRUSTED
    capsys.readouterr()
    assert cli_main(["verify", str(path), "--trust-anchors", str(anchors), "--require-trusted", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["manifest"]["signer_trusted"] is True and report["manifest"]["failures"] == []


def test_cli_verify_prints_the_verdict_and_documented_exit_codes(signing, tmp_path, capsys):
    path = tmp_path / "result.png"
    path.write_bytes(label(photo("PNG"), "image/png", request(), lambda: signing).data)
    assert cli_main(["verify", str(path)]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["c2pa"] == "valid" and lines["watermark"] == "found" and lines["job_id"] == JOB_ID
    plain = tmp_path / "plain.png"
    plain.write_bytes(photo("PNG"))
    assert cli_main(["verify", str(plain)]) == VerifyExit.UNLABELLED
    (tmp_path / "notes.txt").write_text("hello")
    assert cli_main(["verify", str(tmp_path / "notes.txt")]) == VerifyExit.USAGE
    assert cli_main(["verify", str(tmp_path / "missing.jpg")]) == VerifyExit.USAGE


def test_the_sdk_exposes_verify_and_the_cli_registers_it_like_every_subcommand(signing, tmp_path):
    import faceswap_client
    from faceswap_client import cli, verification

    path = tmp_path / "result.jpg"
    path.write_bytes(label(photo("JPEG"), "image/jpeg", request(), lambda: signing).data)
    report = faceswap_client.verify(path)
    assert report.exit_code == faceswap_client.VerifyExit.VALID and report.job_id == JOB_ID
    assert report.watermark_payload == JOB_ID[:12]
    assert verification.register in cli.SUBCOMMANDS


def test_metadata_mode_leaves_the_pixels_and_off_mode_the_bytes(signing):
    original = photo("PNG")
    labelled = label(original, "image/png", request("metadata"), lambda: signing)
    assert labelled.provenance["watermark"] is False and labelled.provenance["c2pa"] is True
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(labelled.data))), np.asarray(Image.open(io.BytesIO(original)))
    )
    assert verify_bytes(labelled.data).exit_code == VerifyExit.VALID
    untouched = label(original, "image/png", request("off"), lambda: pytest.fail("off mode needs no certificate"))
    assert untouched.data == original and untouched.provenance["c2pa"] is False


def test_expired_or_lone_certificates_fail_with_what_to_fix():
    expired = create_dev_credentials(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=40), valid_days=10)
    with pytest.raises(JobFailure) as caught:
        credentials.check_validity(credentials.parse(expired.secret_string()))
    assert caught.value.error.code == "PROVENANCE_FAILED" and "expired" in caught.value.error.message
    lone = json.loads(expired.secret_string())
    lone["certificate_chain"] = lone["certificate_chain"].split("-----END CERTIFICATE-----")[0] + (
        "-----END CERTIFICATE-----\n"
    )
    for bad in ("", "not json", json.dumps({"certificate_chain": "x"}), json.dumps(lone)):
        with pytest.raises(JobFailure) as caught:
            credentials.parse(bad)
        assert caught.value.error.code == "PROVENANCE_FAILED" and "certificate" in caught.value.error.message


def test_dev_credentials_are_created_once_and_reused(tmp_path):
    first = ensure_dev_credentials(tmp_path)
    assert ensure_dev_credentials(tmp_path) == first
    assert (tmp_path / "c2pa-signing-key.pem").stat().st_mode & 0o077 == 0


# -- the archive step -------------------------------------------------------------------------------------------
class _ResultServer:
    def __init__(self, body: bytes, content_type: str) -> None:
        served = (body, content_type)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", served[1])
                self.send_header("Content-Length", str(len(served[0])))
                self.end_headers()
                self.wfile.write(served[0])

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/result"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def result_server() -> Iterator[_ResultServer]:
    server = _ResultServer(photo("JPEG"), "image/jpeg")
    yield server
    server.server.shutdown()


def processing_job(fake_aws, consent: dict | None = None) -> str:
    store = JobStore()
    inputs = {role: {"bucket": BUCKET, "key": f"uploads/{JOB_ID}/{role}"} for role in ("target", "template")}
    job = new_job(job_id=JOB_ID, owner="iam:x", origin="api", inputs=inputs, status=PROCESSING, consent=consent)
    job.provider_task_id = "task-1"
    job.input_digests = {"target": {"sha256": "c" * 64, "content_type": "image/jpeg"}}
    store.create(job)
    return JOB_ID


def signing_secret(dev_credentials, value: str | None = None) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.create_secret(Name="signing", SecretString=value or dev_credentials.secret_string())["ARN"]


def test_archive_stores_only_the_labelled_result_with_both_hashes(
    fake_aws, result_server, dev_credentials, monkeypatch
):
    monkeypatch.setenv("ALLOW_INSECURE_RESULT_URLS", "true")
    monkeypatch.setenv("PROVENANCE_SIGNING_SECRET_ARN", signing_secret(dev_credentials))
    credentials.forget_cached()
    job_id = processing_job(fake_aws, consent={"attested": True})
    outcome = Steps().archive(job_id, result_server.url)
    stored = fake_aws.s3.get_object(Bucket=BUCKET, Key=f"results/{job_id}.jpg")
    body = stored["Body"].read()
    result = outcome["result"]
    assert result["sha256"] == hashlib.sha256(body).hexdigest() == stored["Metadata"]["sha256"]
    assert result["provider_sha256"] == hashlib.sha256(photo("JPEG")).hexdigest() != result["sha256"]
    job = JobStore().require(job_id)
    assert job.provenance["c2pa"] and job.provenance["watermark_payload"] == job_id[:12]
    report = verify_bytes(body)
    assert report.exit_code == VerifyExit.VALID and report.manifest.consent == {"attested": True}
    (event,) = fake_aws.emitted_events()
    assert event["detail"]["provenance"] == job.provenance
    assert event["detail"]["result"]["provider_sha256"] == result["provider_sha256"]


@pytest.mark.parametrize("secret", ["missing", "empty"])
def test_archive_without_a_usable_certificate_fails_and_stores_nothing(
    fake_aws, result_server, dev_credentials, monkeypatch, secret
):
    monkeypatch.setenv("ALLOW_INSECURE_RESULT_URLS", "true")
    arn = signing_secret(dev_credentials, value=" ") if secret == "empty" else ""
    monkeypatch.setenv("PROVENANCE_SIGNING_SECRET_ARN", arn)
    credentials.forget_cached()
    job_id = processing_job(fake_aws)
    with pytest.raises(JobFailure) as caught:
        Steps().archive(job_id, result_server.url)
    assert caught.value.error.code == "PROVENANCE_FAILED" and "put-secret-value" in caught.value.error.message
    assert fake_aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0


def test_archive_in_off_mode_stores_the_provider_bytes(fake_aws, result_server, monkeypatch):
    monkeypatch.setenv("ALLOW_INSECURE_RESULT_URLS", "true")
    monkeypatch.setenv("PROVENANCE_MODE", "off")
    job_id = processing_job(fake_aws)
    outcome = Steps().archive(job_id, result_server.url)
    assert outcome["result"]["sha256"] == outcome["result"]["provider_sha256"]
    assert JobStore().require(job_id).provenance["c2pa"] is False


def test_a_throttled_secrets_manager_is_transient_and_access_denied_is_permanent(fake_aws):
    credentials.forget_cached()
    client = aws_clients.client("secretsmanager")
    with Stubber(client) as stub:
        stub.add_client_error("get_secret_value", "ThrottlingException")
        stub.add_client_error("get_secret_value", "AccessDeniedException")
        with pytest.raises(ProvenanceTransientError):
            credentials.load("arn:aws:secretsmanager:us-east-1:123456789012:secret:signing")
        with pytest.raises(JobFailure) as caught:
            credentials.load("arn:aws:secretsmanager:us-east-1:123456789012:secret:signing")
    assert caught.value.error.code == "PROVENANCE_FAILED"


# -- consent ----------------------------------------------------------------------------------------------------
def test_consent_attestation_is_parsed_strictly():
    assert parse_consent(None) is None
    assert parse_consent({"attested": True}) == {"attested": True}
    assert parse_consent({"attested": True, "reference": "r-1"}) == {"attested": True, "reference": "r-1"}
    for bad in ({"attested": False}, {"attested": "true"}, {"attested": True, "name": "Ann"}, "yes", {}):
        with pytest.raises(InvalidConsent):
            parse_consent(bad)
    assert consent_from_object_metadata({}, {"consent-attested": "TRUE", "consent-reference": "x"}) == {
        "attested": True,
        "reference": "x",
    }
    assert consent_from_object_metadata({"consent-attested": "no"}) is None


def test_api_requires_consent_when_configured_and_records_it(fake_aws, monkeypatch):
    monkeypatch.setenv("REQUIRE_CONSENT_ATTESTATION", "true")
    with pytest.raises(ApiError) as caught:
        SwapService().create("iam:x", CreateSwapRequest(), None)
    assert caught.value.code == "CONSENT_REQUIRED" and caught.value.status == 422
    body = {"consent": {"attested": True, "reference": "rec-1"}}
    view, _ = SwapService().create("iam:x", CreateSwapRequest.from_json_object(body), None)
    assert view["consent"] == {"attested": True, "reference": "rec-1"} and view["provenance"] is None
    with pytest.raises(ApiError) as caught:
        CreateSwapRequest.from_json_object({"consent": {"attested": False}})
    assert caught.value.code == "VALIDATION_ERROR"


def test_drop_zone_and_eventbridge_carry_consent_and_are_refused_without_it_when_required(fake_aws, monkeypatch):
    monkeypatch.setenv("REQUIRE_CONSENT_ATTESTATION", "true")
    s3 = fake_aws.s3
    s3.put_object(Bucket=BUCKET, Key="inbox/a/target.jpg", Body=image_bytes())
    s3.put_object(
        Bucket=BUCKET,
        Key="inbox/a/template.jpg",
        Body=image_bytes(color="blue"),
        Metadata={"consent-attested": "true", "consent-reference": "batch-9"},
    )
    attested = Intake().handle_object(BUCKET, "inbox/a/template.jpg")
    assert attested.action == "started"
    assert JobStore().require(attested.job_id).consent == {"attested": True, "reference": "batch-9"}
    s3.put_object(Bucket=BUCKET, Key="inbox/b/target.jpg", Body=image_bytes())
    s3.put_object(Bucket=BUCKET, Key="inbox/b/template.jpg", Body=image_bytes(color="red"))
    refused = Intake().handle_object(BUCKET, "inbox/b/template.jpg")
    assert refused.action == "rejected" and refused.error_code == "CONSENT_REQUIRED"

    refs = {role: {"bucket": BUCKET, "key": f"inbox/a/{role}.jpg"} for role in ("target", "template")}
    with_consent = {"id": "ev-1", "detail": {**refs, "consent": {"attested": True}}}
    outcome = Intake().handle_request_event(with_consent)
    assert outcome.action == "started" and JobStore().require(outcome.job_id).consent == {"attested": True}
    outcome = Intake().handle_request_event({"id": "ev-2", "detail": refs})
    assert outcome.action == "rejected" and outcome.error_code == "CONSENT_REQUIRED"
    outcome = Intake().handle_request_event({"id": "ev-3", "detail": {**refs, "consent": {"attested": "yes"}}})
    assert outcome.action == "rejected" and outcome.error_code == "INVALID_REQUEST"
    failed = [e["detail"]["error"]["code"] for e in fake_aws.emitted_events()]
    assert sorted(failed) == ["CONSENT_REQUIRED", "CONSENT_REQUIRED", "INVALID_REQUEST"]


def test_an_undecodable_or_oversized_result_is_refused_not_stored_unlabelled(signing, monkeypatch):
    from faceswap.provenance import labelling

    with pytest.raises(JobFailure) as caught:
        label(b"\xff\xd8\xff\xe0 not a jpeg", "image/jpeg", request(), lambda: signing)
    assert caught.value.error.code == "RESULT_INVALID"
    monkeypatch.setattr(labelling, "MAX_LABEL_PIXELS", 1000)
    with pytest.raises(JobFailure) as caught:
        label(photo("JPEG"), "image/jpeg", request(), lambda: signing)
    assert caught.value.error.code == "RESULT_INVALID" and "larger than" in caught.value.error.message
