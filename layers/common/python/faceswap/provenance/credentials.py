"""The C2PA signing certificate chain and key, from the Secrets Manager secret the deployer fills.

The secret's value is JSON: {"certificate_chain": "<leaf PEM, then intermediates>", "private_key": "<PKCS#8 PEM>",
"algorithm": "es256" (optional; es256/es384/es512/ps256/ps384/ps512/ed25519), "timestamp_url": "<RFC 3161 TSA,
optional>"}. Every problem a deployer can fix is a permanent failure whose message says what to do; a throttled or
unreachable Secrets Manager is transient.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from faceswap.adapters import aws_clients
from faceswap.provenance.errors import ProvenanceTransientError, provenance_failure

CACHE_SECONDS = 300
ALGORITHMS = frozenset({"es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"})
_PERMANENT_CODES = frozenset({"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"})
_HOW_TO_FIX = (
    'put {"certificate_chain": "<leaf PEM + intermediates>", "private_key": "<PKCS#8 PEM>"} into the secret '
    "(aws secretsmanager put-secret-value --secret-id <ProvenanceSigningSecretArn> --secret-string file://signing.json)"
)


@dataclass(frozen=True)
class SigningCredentials:
    chain_pem: bytes
    key_pem: bytes
    algorithm: str
    timestamp_url: str | None
    not_after: dt.datetime
    subject: str


_cache: dict[str, tuple[float, SigningCredentials]] = {}
_lock = threading.Lock()


def load(secret_arn: str) -> SigningCredentials:
    """The credentials in `secret_arn` (cached for a few minutes), checked to be usable now."""
    if not secret_arn:
        raise provenance_failure(
            f"No C2PA signing secret is configured (PROVENANCE_SIGNING_SECRET_ARN); {_HOW_TO_FIX}."
        )
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_arn)
    if cached and now - cached[0] < CACHE_SECONDS:
        credentials = cached[1]
    else:
        credentials = parse(_read_secret(secret_arn))
        with _lock:
            _cache[secret_arn] = (now, credentials)
    check_validity(credentials)
    return credentials


def _read_secret(secret_arn: str) -> str:
    try:
        response = aws_clients.client("secretsmanager").get_secret_value(SecretId=secret_arn)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _PERMANENT_CODES:
            raise provenance_failure(f"The C2PA signing secret cannot be read ({code}); {_HOW_TO_FIX}.") from error
        raise ProvenanceTransientError(f"Secrets Manager: {code}") from error
    except BotoCoreError as error:
        raise ProvenanceTransientError(f"Secrets Manager unreachable: {error}") from error
    return str(response.get("SecretString") or "")


def parse(secret_string: str) -> SigningCredentials:
    from cryptography import x509

    try:
        value = json.loads(secret_string) if secret_string.strip() else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise provenance_failure(f"The C2PA signing secret is empty or not JSON; {_HOW_TO_FIX}.")
    chain, key = value.get("certificate_chain"), value.get("private_key")
    if not isinstance(chain, str) or not isinstance(key, str) or "BEGIN" not in chain or "PRIVATE KEY" not in key:
        raise provenance_failure(
            f"The C2PA signing secret lacks a PEM certificate_chain or private_key; {_HOW_TO_FIX}."
        )
    algorithm = str(value.get("algorithm") or "es256").lower()
    if algorithm not in ALGORITHMS:
        raise provenance_failure(f"The C2PA signing algorithm {algorithm!r} is not one of {sorted(ALGORITHMS)}.")
    try:
        certificates = x509.load_pem_x509_certificates(chain.encode())
    except ValueError as error:
        raise provenance_failure(f"The C2PA certificate_chain is not valid PEM ({error}); {_HOW_TO_FIX}.") from error
    if len(certificates) < 2:
        raise provenance_failure(
            "The C2PA certificate_chain holds one certificate; C2PA validators refuse a lone self-signed signer: "
            "put the signing certificate followed by its issuing CA certificate(s)."
        )
    leaf = certificates[0]
    timestamp_url = value.get("timestamp_url")
    return SigningCredentials(
        chain_pem=chain.encode(),
        key_pem=key.encode(),
        algorithm=algorithm,
        timestamp_url=timestamp_url if isinstance(timestamp_url, str) and timestamp_url else None,
        not_after=leaf.not_valid_after_utc,
        subject=leaf.subject.rfc4514_string(),
    )


def check_validity(credentials: SigningCredentials, now: dt.datetime | None = None) -> None:
    moment = now or dt.datetime.now(dt.UTC)
    if credentials.not_after <= moment:
        raise provenance_failure(
            f"The C2PA signing certificate ({credentials.subject}) expired on {credentials.not_after:%Y-%m-%d}; "
            f"renew it and {_HOW_TO_FIX}."
        )


def forget_cached() -> None:
    """Drop the cached credentials (after the deployer rotates the secret, or between tests)."""
    with _lock:
        _cache.clear()
