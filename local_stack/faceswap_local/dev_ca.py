"""A development CA and a C2PA signing certificate for local runs, created once and reused.

C2PA validators refuse a lone self-signed signing certificate, so this makes two: a CA (basicConstraints CA:true,
keyCertSign) and a leaf signed by it (CA:false, digitalSignature, extended key usage emailProtection + documentSigning),
both ECDSA P-256 for ES256. A validator reports content signed this way as "untrusted": nobody trusts this CA, which
is right for a developer's machine. Production uses the chain and key the deployer puts into Secrets Manager.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "c2pa-dev-ca.pem"
SIGNING_CERT = "c2pa-signing-chain.pem"  # the leaf followed by the CA, as a signer presents it
SIGNING_KEY = "c2pa-signing-key.pem"
VALID_DAYS = 825
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class DevSigningCredentials:
    chain_pem: str
    key_pem: str
    ca_pem: str

    def secret_string(self) -> str:
        """The Secrets Manager value the service reads: {"certificate_chain": PEM, "private_key": PEM}."""
        return json.dumps({"certificate_chain": self.chain_pem, "private_key": self.key_pem, "algorithm": "es256"})


def ensure_dev_credentials(folder: Path) -> DevSigningCredentials:
    """The credentials kept in `folder`, created there on first use (or when they are about to expire)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / CA_CERT, folder / SIGNING_CERT, folder / SIGNING_KEY]
    if all(path.is_file() for path in paths) and _still_valid(paths[1].read_bytes()):
        return DevSigningCredentials(paths[1].read_text(), paths[2].read_text(), paths[0].read_text())
    credentials = create_dev_credentials()
    paths[0].write_text(credentials.ca_pem)
    paths[1].write_text(credentials.chain_pem)
    paths[2].write_text(credentials.key_pem)
    paths[2].chmod(0o600)
    return credentials


def _still_valid(chain_pem: bytes) -> bool:
    try:
        leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError:
        return False
    return leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=RENEW_BEFORE_DAYS)


def create_dev_credentials(
    *, not_before: dt.datetime | None = None, valid_days: int = VALID_DAYS, common_name: str = "faceswap local signer"
) -> DevSigningCredentials:
    """A fresh CA and leaf (also used by tests to make an expired certificate)."""
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(days=valid_days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceswap development"), _cn("faceswap development CA")]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceswap development"), _cn(common_name)])
        )
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    ca_pem = ca_cert.public_bytes(pem).decode()
    return DevSigningCredentials(leaf_cert.public_bytes(pem).decode() + ca_pem, key_pem, ca_pem)


def _cn(name: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, name)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
