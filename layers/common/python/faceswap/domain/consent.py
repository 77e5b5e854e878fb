"""The caller's consent attestation: `{"attested": true, "reference": "<their record id, optional>"}`.

The service does not judge consent: it records that the caller attested it (no personal data, only their own record
id), on the job and as an assertion in the result's C2PA manifest. With RequireConsentAttestation, jobs without it
are refused.
"""

from __future__ import annotations

from typing import Any

MAX_REFERENCE = 128


class InvalidConsent(ValueError):
    pass


def parse_consent(value: Any) -> dict[str, Any] | None:
    """The normalised attestation, None when absent; InvalidConsent when malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidConsent('consent: must be an object {"attested": true, "reference"?: string}.')
    unknown = sorted(set(value) - {"attested", "reference"})
    if unknown:
        raise InvalidConsent(f"consent: unknown field(s): {', '.join(unknown)[:100]}.")
    if value.get("attested") is not True:
        raise InvalidConsent("consent.attested: must be true (omit consent if you do not attest).")
    reference = value.get("reference")
    if reference is None:
        return {"attested": True}
    if not isinstance(reference, str) or not 1 <= len(reference) <= MAX_REFERENCE or not reference.isprintable():
        raise InvalidConsent(f"consent.reference: must be 1 to {MAX_REFERENCE} printable characters.")
    return {"attested": True, "reference": reference}


def consent_from_object_metadata(*metadata: dict[str, str]) -> dict[str, Any] | None:
    """The drop zone's form: S3 user metadata `consent-attested: true` (and optionally `consent-reference`) on
    either photo of the pair."""
    for item in metadata:
        if item.get("consent-attested", "").strip().lower() == "true":
            reference = item.get("consent-reference", "").strip()
            try:
                return parse_consent({"attested": True, **({"reference": reference} if reference else {})})
            except InvalidConsent:
                return {"attested": True}
    return None
