"""A log repository's keys: `keyinfo.json`, the password-wrapped master key, and per-chunk data keys.

The password turns into a key-encryption key through scrypt (n=2**17, r=8, p=1; memory-hard, ~0.4 s here),
once per open. That key wraps a random 256-bit master key with AES-256-GCM; only the wrapped master key, the
salt, the scrypt parameters, the key id and a verifier are stored. Changing the password rewraps the master
key and rewrites keyinfo.json, nothing else. Each chunk has its own random data key, wrapped by the master key.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from repositories.logstore.errors import ChunkDamagedError, LogRepositoryLayoutError, WrongPasswordError

KEYINFO = "keyinfo.json"
FORMAT = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_NONCE = 12
_WRAPPED_KEY = 32 + 16  # a 256-bit key plus the GCM tag
_MAGIC = b"EBLC1"  # encrypted chunk: magic, key id (16), nonce + wrapped data key, nonce + ciphertext


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def _password_key(password: str, kdf: dict) -> bytes:
    return Scrypt(salt=_unb64(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(password.encode())


def _verifier(master: bytes, key_id: str) -> str:
    return hmac.new(master, f"entrabackup log repository verifier {key_id}".encode(), hashlib.sha256).hexdigest()


def _wrap_aad(key_id: str) -> bytes:
    return f"entrabackup log repository master key {key_id}".encode()


@dataclass(frozen=True)
class Keyring:
    """The opened keys of a repository: its master key and key id, or neither (no encryption)."""

    key_id: str | None = None
    master: bytes | None = None

    @property
    def encrypted(self) -> bool:
        return self.master is not None

    def seal(self, data: bytes, *, aad: str) -> bytes:
        """The chunk bytes encrypted under a fresh data key, with that key wrapped by the master key."""
        data_key, key_nonce, nonce = AESGCM.generate_key(bit_length=256), os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = AESGCM(self.master).encrypt(key_nonce, data_key, f"{self.key_id} {aad}".encode())
        body = AESGCM(data_key).encrypt(nonce, data, aad.encode())
        return _MAGIC + bytes.fromhex(self.key_id) + key_nonce + wrapped + nonce + body

    def open(self, blob: bytes, *, aad: str) -> bytes:
        """The plain bytes of a sealed chunk; ChunkDamagedError when it does not decrypt under this key."""
        head = len(_MAGIC)
        key_id = blob[head:head + 16].hex()
        if not blob.startswith(_MAGIC) or len(blob) < head + 16 + 2 * _NONCE + _WRAPPED_KEY + 16:
            raise ChunkDamagedError(f"{aad}: not an encrypted chunk of this format.")
        if key_id != self.key_id:
            raise ChunkDamagedError(f"{aad}: encrypted with key {key_id}, not this repository's key {self.key_id}.")
        at = head + 16
        key_nonce, wrapped = blob[at:at + _NONCE], blob[at + _NONCE:at + _NONCE + _WRAPPED_KEY]
        at += _NONCE + _WRAPPED_KEY
        try:
            data_key = AESGCM(self.master).decrypt(key_nonce, wrapped, f"{self.key_id} {aad}".encode())
            return AESGCM(data_key).decrypt(blob[at:at + _NONCE], blob[at + _NONCE:], aad.encode())
        except InvalidTag:
            raise ChunkDamagedError(f"{aad}: does not decrypt (damaged, or not written for this path).") from None


def new_keyinfo(password: str | None, *, scrypt_n: int = SCRYPT_N) -> tuple[dict, Keyring]:
    """A new repository's keyinfo document and its opened keyring."""
    if password is None:
        return {"format": FORMAT, "encryption": "none"}, Keyring()
    _require_password(password)
    master, key_id = AESGCM.generate_key(bit_length=256), secrets.token_hex(16)
    return _wrapped(master, key_id, password, scrypt_n), Keyring(key_id, master)


def _wrapped(master: bytes, key_id: str, password: str, scrypt_n: int) -> dict:
    kdf = {"name": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(os.urandom(16))}
    nonce = os.urandom(_NONCE)
    wrapped = AESGCM(_password_key(password, kdf)).encrypt(nonce, master, _wrap_aad(key_id))
    return {"format": FORMAT, "encryption": "password", "key_id": key_id, "kdf": kdf,
            "wrapped_key": _b64(nonce + wrapped), "verifier": _verifier(master, key_id)}


def open_keyinfo(info: dict, password: str | None) -> Keyring:
    """The keyring a keyinfo document and a password open; WrongPasswordError when they do not fit."""
    encryption = info.get("encryption")
    if info.get("format") != FORMAT or encryption not in ("none", "password"):
        raise LogRepositoryLayoutError("keyinfo.json is not of a format this version knows.")
    if encryption == "none":
        if password:
            raise WrongPasswordError("This log repository is not encrypted, but a password was given.")
        return Keyring()
    if not password:
        raise WrongPasswordError("This log repository is encrypted: its password is needed.")
    try:
        key_id, kdf, blob = info["key_id"], info["kdf"], _unb64(info["wrapped_key"])
        if kdf.get("name") != "scrypt":
            raise LogRepositoryLayoutError(f"Unknown key derivation {kdf.get('name')!r} in keyinfo.json.")
        master = AESGCM(_password_key(password, kdf)).decrypt(blob[:_NONCE], blob[_NONCE:], _wrap_aad(key_id))
    except InvalidTag:
        raise WrongPasswordError("Wrong password for this log repository.") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise LogRepositoryLayoutError(f"keyinfo.json is damaged ({type(exc).__name__}).") from None
    if not hmac.compare_digest(_verifier(master, key_id), str(info.get("verifier", ""))):
        raise WrongPasswordError("Wrong password for this log repository (the key does not verify).")
    return Keyring(key_id, master)


def rewrap(info: dict, old: str, new: str) -> dict:
    """The keyinfo document with the same master key and key id, wrapped by the new password."""
    keyring = open_keyinfo(info, old)
    if not keyring.encrypted:
        raise LogRepositoryLayoutError("This log repository is not encrypted; it has no password to change.")
    _require_password(new)
    return _wrapped(keyring.master, keyring.key_id, new, info["kdf"]["n"])


def _require_password(password: str) -> None:
    if len(password) < 8:
        raise WrongPasswordError("A log repository password needs at least 8 characters.")


def dumps(info: dict) -> bytes:
    return json.dumps(info, indent=1, sort_keys=True).encode()
