"""`faceswap verify FILE` and `verify(path)`: is this image labelled as AI-generated, and is the label intact?

Three independent checks, each with a reader this service did not write for the C2PA part:
- the C2PA manifest (the c2pa library validates signature, certificate and content hashes): absent, valid,
  tampered (the content no longer matches what was signed) or invalid (bad signature or structure); whether the
  signer chains to a trust anchor you pass (`--trust-anchors`; without one a self-made CA is "untrusted");
- the IPTC digital source type in the XMP packet;
- the invisible watermark and its payload (the first 12 hex digits of the job id), which survives re-encoding,
  resizing and cropping that strip the metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Light imports only: `faceswap --help` must stay fast (numpy, Pillow and c2pa load when a file is verified).
from faceswap.provenance import CONSENT_LABEL, JOB_LABEL, xmp

if TYPE_CHECKING:
    from faceswap.provenance.watermark import Detection

MAX_FILE_BYTES = 50 * 1024 * 1024
_TAMPER_CODES = ("dataHash.mismatch", "boxesHash.mismatch", "bmffHash.mismatch", "collectionHash.mismatch")
_UNTRUSTED = "signingCredential.untrusted"


class VerifyExit(IntEnum):
    VALID = 0  # a valid C2PA manifest (see signer_trusted)
    USAGE = 2  # the file cannot be read or is not a JPEG/PNG
    TAMPERED = 8  # a manifest is present but fails validation (content changed after signing, or bad signature)
    MARK_ONLY = 9  # no manifest, but the watermark or the XMP marks it AI-generated (e.g. a re-encoded copy)
    UNLABELLED = 10  # nothing marks it as AI-generated
    UNTRUSTED = 11  # valid, but --require-trusted was given and the signer does not chain to a trust anchor


VERIFY_EXIT_HELP = """\
exit codes (verify):
  0  a valid C2PA manifest (signature, certificate and content hashes check out)
  2  the file cannot be read or is not a JPEG/PNG image
  8  a C2PA manifest is present but invalid: the image was changed after signing, or the signature is bad
  9  no C2PA manifest, but the invisible watermark or the XMP source type marks it AI-generated
 10  no label found: no manifest, no XMP source type, no watermark
 11  valid, but --require-trusted was given and the signer does not chain to a trust anchor
"""


@dataclass
class ManifestReport:
    state: str  # "absent" | "valid" | "tampered" | "invalid"
    signer: str | None = None
    signer_trusted: bool = False
    failures: list[str] = field(default_factory=list)
    digital_source_type: str | None = None
    software_agent: str | None = None
    job_id: str | None = None
    consent: dict[str, Any] | None = None


@dataclass
class VerifyReport:
    path: str
    content_type: str
    manifest: ManifestReport
    xmp_digital_source_type: str | None
    watermark_found: bool
    watermark_payload: str | None
    job_id: str | None  # from the manifest when present, else None
    job_id_prefix: str | None  # what the watermark points to: the first 12 hex digits of the job id

    @property
    def exit_code(self) -> VerifyExit:
        if self.manifest.state == "valid":
            return VerifyExit.VALID
        if self.manifest.state in ("tampered", "invalid"):
            return VerifyExit.TAMPERED
        if self.watermark_found or self.xmp_digital_source_type:
            return VerifyExit.MARK_ONLY
        return VerifyExit.UNLABELLED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class VerifyError(Exception):
    pass


def verify(path: str | Path, *, trust_anchors_pem: str | None = None) -> VerifyReport:
    file_path = Path(path)
    try:
        if file_path.stat().st_size > MAX_FILE_BYTES:
            raise VerifyError(f"{file_path} is larger than {MAX_FILE_BYTES} bytes")
        data = file_path.read_bytes()
    except OSError as error:
        raise VerifyError(f"cannot read {file_path}: {error.strerror or error}") from error
    return verify_bytes(data, name=str(file_path), trust_anchors_pem=trust_anchors_pem)


def verify_bytes(data: bytes, *, name: str = "<bytes>", trust_anchors_pem: str | None = None) -> VerifyReport:
    content_type = _sniff(data)
    if content_type is None:
        raise VerifyError(f"{name} is not a JPEG or PNG image")
    report_manifest = read_manifest(data, content_type, trust_anchors_pem)
    found = _watermark(data)
    return VerifyReport(
        path=name,
        content_type=content_type,
        manifest=report_manifest,
        xmp_digital_source_type=xmp.digital_source_type(data),
        watermark_found=found.found,
        watermark_payload=found.payload,
        job_id=report_manifest.job_id,
        job_id_prefix=found.payload,
    )


def read_manifest(data: bytes, content_type: str, trust_anchors_pem: str | None = None) -> ManifestReport:
    import io

    import c2pa

    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if trust_anchors_pem:
        settings["trust"] = {"trust_anchors": trust_anchors_pem}
    try:
        context = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
        with c2pa.Reader(content_type, io.BytesIO(data), context=context) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "JUMBF" in str(error):
            return ManifestReport(state="absent")
        return ManifestReport(state="invalid", failures=[str(error)[:200]])
    return _manifest_report(store)


def _manifest_report(store: dict[str, Any]) -> ManifestReport:
    active = (store.get("manifests") or {}).get(store.get("active_manifest") or "", {})
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [str(item.get("code")) for item in results.get("failure") or []]
    failures += [str(item.get("code")) for item in store.get("validation_status") or [] if item.get("code")]
    failures = sorted(set(failures))
    serious = [code for code in failures if code != _UNTRUSTED]
    if any(code.endswith(_TAMPER_CODES) for code in serious):
        state = "tampered"
    elif serious or str(store.get("validation_state", "")).lower() not in ("valid", "trusted"):
        state = "invalid"
    else:
        state = "valid"
    report = ManifestReport(state=state, failures=failures, signer_trusted=state == "valid" and not failures)
    signature = active.get("signature_info") or {}
    report.signer = ", ".join(str(signature[k]) for k in ("common_name", "issuer") if signature.get(k)) or None
    for assertion in active.get("assertions") or []:
        label, data = assertion.get("label", ""), assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                if action.get("digitalSourceType"):
                    report.digital_source_type = action["digitalSourceType"]
                    agent = action.get("softwareAgent")
                    if isinstance(agent, dict):
                        report.software_agent = f"{agent.get('name', '')} {agent.get('version', '')}".strip()
                    elif isinstance(agent, str):
                        report.software_agent = agent
        elif label == JOB_LABEL:
            report.job_id = data.get("job_id")
        elif label == CONSENT_LABEL:
            report.consent = data
    return report


def _watermark(data: bytes) -> Detection:
    import io

    import numpy as np
    from faceswap.provenance import watermark
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as opened:
            upright = ImageOps.exif_transpose(opened)
            pixels = np.asarray(upright.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return watermark.Detection(False, None, 0.0, None)
    if min(pixels.shape[:2]) < watermark.MIN_SIDE // 2:
        return watermark.Detection(False, None, 0.0, None)
    return watermark.detect(pixels)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def describe(report: VerifyReport) -> list[tuple[str, Any]]:
    """key=value lines for the console, in reading order."""
    manifest = report.manifest
    verdict = {
        VerifyExit.VALID: "labelled AI-generated; C2PA manifest valid",
        VerifyExit.TAMPERED: "C2PA manifest present but INVALID (changed after signing or bad signature)",
        VerifyExit.MARK_ONLY: "labelled AI-generated by watermark/XMP; no C2PA manifest (stripped or re-encoded)",
        VerifyExit.UNLABELLED: "no AI-generated label found",
    }[report.exit_code]
    return [
        ("file", report.path),
        ("verdict", verdict),
        ("c2pa", manifest.state),
        ("c2pa_signer", manifest.signer),
        ("c2pa_signer_trusted", manifest.signer_trusted),
        ("c2pa_failures", ",".join(manifest.failures) or None),
        ("digital_source_type", manifest.digital_source_type or report.xmp_digital_source_type),
        ("xmp_digital_source_type", report.xmp_digital_source_type),
        ("software_agent", manifest.software_agent),
        ("watermark", "found" if report.watermark_found else "not found"),
        ("watermark_payload", report.watermark_payload),
        ("job_id", report.job_id),
        ("job_id_prefix", report.job_id_prefix),
        ("consent_attested", (manifest.consent or {}).get("attested")),
    ]


def register(sub: Any, connection: Any) -> None:
    """`faceswap verify FILE`: needs no API, no credentials, no network (so not the connection options)."""
    from faceswap_client.commandline import add_command

    parser = add_command(
        sub, "verify", "check whether an image is labelled as AI-generated (C2PA, XMP, watermark)", _handle, []
    )
    parser.description = __doc__
    parser.epilog = VERIFY_EXIT_HELP
    parser.add_argument("file", type=Path, help="the JPEG or PNG image to check")
    parser.add_argument(
        "--trust-anchors", type=Path, metavar="PEM", help="CA certificate(s) the signer must chain to to be trusted"
    )
    parser.add_argument(
        "--require-trusted", action="store_true", help="exit 11 when the signer does not chain to a trust anchor"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _handle(args: Any, context: Any) -> int:
    return run_command(args, context.console.out, context.console.err)


def run_command(args: Any, out: Any, err: Any) -> int:
    try:
        anchors = args.trust_anchors.read_text() if args.trust_anchors else None
        report = verify(args.file, trust_anchors_pem=anchors)
    except (OSError, VerifyError) as error:
        err.write(f"faceswap: {error}\n")
        return int(VerifyExit.USAGE)
    code = report.exit_code
    if code == VerifyExit.VALID and args.require_trusted and not report.manifest.signer_trusted:
        code = VerifyExit.UNTRUSTED
    if args.json:
        out.write(json.dumps({**report.as_dict(), "exit_code": int(code)}, indent=2) + "\n")
    else:
        for key, value in describe(report):
            out.write(f"{key}={'' if value is None else str(value).lower() if isinstance(value, bool) else value}\n")
    return int(code)
