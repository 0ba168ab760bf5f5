"""Local PKI: a CA, a TLS server certificate for 127.0.0.1/localhost and the token-signing key.

Generated once into STATE/pki/ and reused on later starts so clients can keep trusting ca.pem.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Pki:
    ca_path: Path
    cert_path: Path
    key_path: Path
    signing_key: rsa.RSAPrivateKey
    signing_kid: str


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "entrabackup graph emulator")])


def _make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("Graph Emulator Local CA")).issuer_name(
        _name("Graph Emulator Local CA")).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    return key, cert


def _make_server(ca_key, ca_cert) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=825))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def ensure_pki(state_dir: Path) -> Pki:
    """Create (first start) or load the CA, server certificate and token signing key."""
    d = state_dir / "pki"
    d.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = d / "ca.pem", d / "server.pem", d / "server.key"
    if not (ca_path.exists() and cert_path.exists() and key_path.exists()):
        ca_key, ca_cert = _make_ca()
        srv_key, srv_cert = _make_server(ca_key, ca_cert)
        _write_private(d / "ca.key", _pem_key(ca_key))
        _write_private(key_path, _pem_key(srv_key))
        cert_path.write_bytes(srv_cert.public_bytes(serialization.Encoding.PEM))
        ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    sig_path = d / "token-signing.key"
    if not sig_path.exists():
        _write_private(sig_path, _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    signing_key = serialization.load_pem_private_key(sig_path.read_bytes(), password=None)
    kid = _kid(signing_key)
    return Pki(ca_path.resolve(), cert_path.resolve(), key_path.resolve(), signing_key, kid)


def _kid(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize()[:15].hex()


def ensure_secret_file(path: Path, nbytes: int = 32) -> str:
    """Random secret (admin key / token encryption key) created once with mode 0600."""
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(nbytes).encode())
    return path.read_text().strip()
