"""App credentials for the client-credentials flow: a client secret or a certificate.

Certificate credentials: https://learn.microsoft.com/entra/identity-platform/certificate-credentials
Reprs and str() never show the secret or the private key.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


class ClientSecret:
    """A client secret (the *value*, not the secret id)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or not value.strip():
            raise ValueError("The client secret is empty.")
        self._value = value.strip()

    def msal_credential(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ClientSecret(value=<hidden>)"

    __str__ = __repr__


class ClientCertificate:
    """A certificate credential: private key PEM plus the certificate PEM.

    With the certificate msal signs a PS256 assertion carrying ``x5t#S256`` (and ``x5c``);
    with ``use_sha1_thumbprint=True`` it signs the legacy RS256 assertion with the SHA-1 ``x5t``.
    """

    __slots__ = ("_key_pem", "certificate_pem", "thumbprint_sha1", "thumbprint_sha256", "not_after", "_legacy")

    def __init__(self, private_key_pem: str, certificate_pem: str, *, use_sha1_thumbprint: bool = False) -> None:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
        key = _read_key(private_key_pem, None)
        if key.public_key().public_numbers() != cert.public_key().public_numbers():
            raise ValueError("The private key does not belong to the certificate.")
        self._key_pem = private_key_pem
        self.certificate_pem = certificate_pem
        self.thumbprint_sha1 = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - x5t needs SHA-1
        self.thumbprint_sha256 = cert.fingerprint(hashes.SHA256()).hex().upper()
        self.not_after = cert.not_valid_after_utc
        self._legacy = use_sha1_thumbprint

    def msal_credential(self) -> dict[str, str]:
        if self._legacy:
            return {"private_key": self._key_pem, "thumbprint": self.thumbprint_sha1}
        return {"private_key": self._key_pem, "public_certificate": self.certificate_pem}

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint_sha1={self.thumbprint_sha1!r}, not_after={self.not_after:%Y-%m-%d})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class GeneratedCertificate:
    """A fresh self-signed certificate: upload ``certificate_pem`` to the app, keep ``private_key_pem`` secret."""

    private_key_pem: str
    certificate_pem: str
    thumbprint_sha1: str
    thumbprint_sha256: str
    thumbprint_sha256_b64url: str  # the x5t#S256 value Entra shows
    not_after: dt.datetime

    def credential(self) -> ClientCertificate:
        return ClientCertificate(self.private_key_pem, self.certificate_pem)

    def __repr__(self) -> str:
        return f"GeneratedCertificate(thumbprint_sha1={self.thumbprint_sha1!r}, not_after={self.not_after:%Y-%m-%d})"


def generate_self_signed(common_name: str = "entrabackup", *, days: int = 730, key_size: int = 2048) -> GeneratedCertificate:
    """Create an RSA key and a self-signed certificate valid for ``days`` (two years by default)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return _describe(key_pem, cert)


def load_pem(private_key_pem: bytes | str, certificate_pem: bytes | str, password: str | None = None) -> ClientCertificate:
    """Load a PEM key (optionally encrypted) and certificate; the key is kept unencrypted in memory only."""
    key = _read_key(private_key_pem, password)
    cert = x509.load_pem_x509_certificate(_bytes(certificate_pem))
    return ClientCertificate(_key_to_pem(key), cert.public_bytes(serialization.Encoding.PEM).decode())


def load_pfx(data: bytes, password: str | None = None) -> ClientCertificate:
    """Load a PKCS#12 (.pfx/.p12) file's key and certificate."""
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(data, _bytes(password) if password else None)
    except ValueError:
        # cryptography's message can quote parsing details; keep ours generic and safe.
        raise ValueError("Could not open the PFX file: wrong password or not a PKCS#12 file.") from None
    if key is None or cert is None:
        raise ValueError("The PFX file must contain both the private key and the certificate.")
    return ClientCertificate(_key_to_pem(key), cert.public_bytes(serialization.Encoding.PEM).decode())


def _describe(key_pem: str, cert: x509.Certificate) -> GeneratedCertificate:
    sha256 = cert.fingerprint(hashes.SHA256())
    return GeneratedCertificate(
        private_key_pem=key_pem,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        thumbprint_sha1=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Entra shows SHA-1
        thumbprint_sha256=sha256.hex().upper(),
        thumbprint_sha256_b64url=base64.urlsafe_b64encode(sha256).rstrip(b"=").decode(),
        not_after=cert.not_valid_after_utc,
    )


def _read_key(pem: bytes | str, password: str | None):
    try:
        return serialization.load_pem_private_key(_bytes(pem), password=_bytes(password) if password else None)
    except (TypeError, ValueError):
        # cryptography's messages may quote key details; ours says what to fix and nothing more.
        raise ValueError("Could not read the private key: wrong or missing password, or not a PEM key.") from None


def _key_to_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
