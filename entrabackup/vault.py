"""Sealing of secrets at rest: tenant credentials, repository passwords.

A sealed value is `v1:<key id>:<base64(nonce | AES-256-GCM ciphertext)>`; the purpose of the value (for
example "tenant-credential") is authenticated too, so a ciphertext moved to another field fails to open.
The keys are never in the database: they come from `ENTRABACKUP_SECRETS_KEY` (comma-separated base64
keys, the first one seals) or, when that is unset, from the key file `ENTRABACKUP_SECRETS_KEY_FILE`
(default `var/secrets.key`, one key a line, the first one seals), generated on first use with mode 0600.
Older keys stay listed after a rotation until every value is sealed again (`manage.py secrets_key`).
"""

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from entrabackup.env import env_str

VERSION = "v1"
KEY_BYTES = 32


class VaultError(Exception):
    """A sealed value cannot be opened. The message names the key, never the value."""


class SealedField(models.TextField):
    """A text column holding a value sealed by this module (never the clear value).

    Only a marker: `manage.py secrets_key rotate` finds every such column to seal its values again.
    """


@dataclass(frozen=True)
class Key:
    key_id: str
    material: bytes


def key_id_of(material: bytes) -> str:
    return hashlib.sha256(b"entrabackup-vault-key-id" + material).hexdigest()[:12]


def generate_key() -> str:
    """A new random key in the text form the key file and the environment variable use."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, *, source: str) -> Key:
    try:
        material = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, TypeError):
        material = b""
    if len(material) != KEY_BYTES:
        raise ImproperlyConfigured(f"{source} holds a key that is not {KEY_BYTES} bytes of base64.")
    return Key(key_id_of(material), material)


def key_file_path() -> Path:
    return Path(getattr(settings, "SECRETS_KEY_FILE", settings.VAR_DIR / "secrets.key"))


def load_keys() -> list[Key]:
    """The configured keys, the sealing key first."""
    from_env = (env_str("ENTRABACKUP_SECRETS_KEY") or "").strip()
    if from_env:
        return [parse_key(text, source="ENTRABACKUP_SECRETS_KEY") for text in from_env.split(",") if text.strip()]
    path = key_file_path()
    if not path.exists():
        write_key_file(path, [generate_key()], create=True)
    lines = load_keys_text(path)
    if not lines:
        raise ImproperlyConfigured(f"The key file {path} holds no key.")
    return [parse_key(line, source=str(path)) for line in lines]


def load_keys_text(path: Path) -> list[str]:
    """The keys in a key file, in text form, the sealing key first."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def write_key_file(path: Path, keys: list[str], *, create: bool = False) -> None:
    """Write the key file atomically with mode 0600 (the first key seals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as handle:
        handle.write("# entrabackup secrets key(s): keep a copy apart from the database backups\n")
        handle.write("\n".join(keys) + "\n")
    if create and path.exists():  # another process created it first: keep theirs
        tmp.unlink()
        return
    os.replace(tmp, path)


def seal(value: str, *, purpose: str) -> str:
    """Encrypt `value` with the sealing key; `purpose` binds it to one kind of field."""
    key = load_keys()[0]
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key.material).encrypt(nonce, value.encode(), purpose.encode())
    return f"{VERSION}:{key.key_id}:{base64.b64encode(nonce + ciphertext).decode()}"


def unseal(sealed: str, *, purpose: str) -> str:
    """The clear value of `sealed`; a VaultError that names the key when it cannot be opened."""
    version, key_id, payload = _split(sealed)
    keys = {key.key_id: key for key in load_keys()}
    if key_id not in keys:
        raise VaultError(
            f"This secret was sealed with key {key_id}, which is not configured "
            "(ENTRABACKUP_SECRETS_KEY or the key file). Restore that key, or enter the secret again."
        )
    raw = base64.b64decode(payload)
    try:
        return AESGCM(keys[key_id].material).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except InvalidTag:
        raise VaultError(f"A secret sealed with key {key_id} failed its integrity check (tampered or moved).") from None


def sealed_key_id(sealed: str) -> str:
    return _split(sealed)[1]


def _split(sealed: str) -> tuple[str, str, str]:
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise VaultError("This value is not a sealed secret of a known format.")
    return parts[0], parts[1], parts[2]


def purpose_of(model: type[models.Model], field_name: str) -> str:
    """The purpose a SealedField's values are bound to: the field's own identity."""
    return f"{model._meta.label_lower}.{field_name}"


def sealed_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) holding sealed values, across all installed apps."""
    from django.apps import apps

    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, SealedField)
    ]
