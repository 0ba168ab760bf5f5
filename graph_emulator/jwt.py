"""Minimal JWS (compact) signing/verification: RS256 for our tokens; RS256/PS256 for client assertions."""

from __future__ import annotations

import base64
import hashlib

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class JwtError(Exception):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    text = text.strip().rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_rs256(key: rsa.RSAPrivateKey, header: dict, claims: dict) -> str:
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(claims))}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(sig)}"


def parse(token: str) -> tuple[dict, dict, bytes, bytes]:
    """Split and decode without verifying; raises JwtError for anything not a compact JWS."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a compact JWS")
    try:
        header, claims = orjson.loads(b64url_decode(parts[0])), orjson.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise JwtError("undecodable segment") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("segments are not JSON objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), sig


def verify(public_key, alg: str, signing_input: bytes, sig: bytes) -> bool:
    try:
        if alg == "RS256":
            public_key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            public_key.verify(sig, signing_input, pss, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """(SHA-1 x5t, SHA-256 x5t#S256) of the DER certificate, base64url without padding."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())  # noqa: S324 - x5t is SHA-1 by spec
