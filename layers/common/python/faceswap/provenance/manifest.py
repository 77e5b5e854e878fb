"""The C2PA manifest of a result: what made it, from what (by hash only), and the caller's consent attestation.

Signed last, over the final bytes. No thumbnails at all: neither of the result nor of the inputs, which are personal
photos; the inputs appear as ingredients identified by their SHA-256 only.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from faceswap.provenance import CONSENT_LABEL, DIGITAL_SOURCE_TYPE, JOB_LABEL, SERVICE_NAME, SERVICE_VERSION
from faceswap.provenance.credentials import SigningCredentials
from faceswap.provenance.errors import provenance_failure

_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


@dataclass(frozen=True)
class ManifestFacts:
    job_id: str
    content_type: str
    provider: str
    input_sha256: dict[str, str]  # role -> hex digest
    input_content_types: dict[str, str]
    consent: dict[str, Any] | None
    watermark_payload: str | None


def definition(facts: ManifestFacts) -> dict[str, Any]:
    ingredients = [
        {
            "title": f"{role} photo",
            "format": facts.input_content_types.get(role, "image/jpeg"),
            "relationship": "componentOf",
            "instance_id": f"urn:sha256:{digest}",
        }
        for role, digest in sorted(facts.input_sha256.items())
    ]
    action = {
        "action": "c2pa.created",
        "digitalSourceType": DIGITAL_SOURCE_TYPE,
        "softwareAgent": {"name": SERVICE_NAME, "version": SERVICE_VERSION},
        "parameters": {
            "provider": facts.provider,
            "description": "face swap: the template photo's face composited onto the target photo by an AI model",
            "ingredients_sha256": dict(sorted(facts.input_sha256.items())),
        },
    }
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": [action]}},
        {"label": JOB_LABEL, "data": {"job_id": facts.job_id, "watermark_payload": facts.watermark_payload}},
    ]
    if facts.consent:
        assertions.append({"label": CONSENT_LABEL, "data": facts.consent})
    return {
        "claim_generator_info": [{"name": SERVICE_NAME, "version": SERVICE_VERSION}],
        "title": f"face swap result {facts.job_id}",
        "format": facts.content_type,
        "ingredients": ingredients,
        "assertions": assertions,
    }


def sign(data: bytes, facts: ManifestFacts, credentials: SigningCredentials) -> bytes:
    import c2pa

    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                alg=credentials.algorithm.encode(),
                sign_cert=credentials.chain_pem,
                private_key=credentials.key_pem,
                ta_url=credentials.timestamp_url.encode() if credentials.timestamp_url else None,
            )
        )
    except c2pa.C2paError as error:
        raise provenance_failure(
            f"The C2PA signing key or certificate chain was refused ({error}); check that the key matches the "
            f"certificate and the algorithm ({credentials.algorithm})."
        ) from error
    context = c2pa.Context(settings=c2pa.Settings.from_dict(_SETTINGS))
    output = io.BytesIO()
    try:
        with c2pa.Builder(json.dumps(definition(facts)), context=context) as builder:
            builder.sign(signer, facts.content_type, io.BytesIO(data), output)
    except c2pa.C2paError as error:
        raise provenance_failure(f"C2PA signing failed: {error}") from error
    finally:
        signer.close()
    return output.getvalue()
