"""Sealing of secrets at rest: tenant credentials, repository passwords.

A sealed value is `v2:<key id>:<base64(nonce | AES-256-GCM ciphertext)>`. The authenticated data binds it
to the field it is for (its purpose, "tenants.tenant.sealed_credential"), to the row's stable identity and
to a fingerprint of the endpoint the secret is meant for (`endpoint_binding`). A ciphertext copied into
another field or row, or kept while the endpoint was changed without entering the secret again, does not
open. (`v1` values were bound to their purpose only; the migrations that introduced `v2` sealed them again.)
The keys are never in the database: they come from `ENTRABACKUP_SECRETS_KEY` (comma-separated base64
keys, the first one seals) or, when that is unset, from the key file `ENTRABACKUP_SECRETS_KEY_FILE`
(default `var/secrets.key`, one key a line, the first one seals), generated on first use with mode 0600.
Older keys stay listed after a rotation until every value is sealed again (`manage.py secrets_key`).
"""

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.views.decorators.debug import sensitive_variables

from entrabackup.env import env_str

VERSION = "v2"
LEGACY_VERSION = "v1"
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


def endpoint_binding(identity: object, endpoint: dict[str, object]) -> str:
    """The binding of a sealed value: a row's stable identity and a fingerprint of its endpoint fields.

    Values are compared as text, so the caller passes them normalised the way they are stored.
    """
    canonical = json.dumps({name: "" if value is None else str(value) for name, value in endpoint.items()},
                           sort_keys=True, separators=(",", ":"))
    return f"{identity}|{hashlib.sha256(canonical.encode()).hexdigest()}"


@sensitive_variables("value")
def seal(value: str, *, purpose: str, binding: str = "") -> str:
    """Encrypt `value` with the sealing key; `purpose` binds it to one kind of field, `binding` to one row
    and one endpoint (see `endpoint_binding`)."""
    key = load_keys()[0]
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key.material).encrypt(nonce, value.encode(), _aad(VERSION, purpose, binding))
    return f"{VERSION}:{key.key_id}:{base64.b64encode(nonce + ciphertext).decode()}"


def unseal(sealed: str, *, purpose: str, binding: str = "") -> str:
    """The clear value of `sealed`; a VaultError that names the key (never the value) when it cannot be opened."""
    version, key_id, payload = _split(sealed)
    if version == LEGACY_VERSION and binding:  # never open an unbound value where a binding is expected
        raise VaultError(
            "This secret was sealed before secrets were bound to their row and endpoint: run "
            "'manage.py migrate', or enter the secret again."
        )
    keys = {key.key_id: key for key in load_keys()}
    if key_id not in keys:
        raise VaultError(
            f"This secret was sealed with key {key_id}, which is not configured "
            "(ENTRABACKUP_SECRETS_KEY or the key file). Restore that key, or enter the secret again."
        )
    try:
        raw = base64.b64decode(payload, validate=True)
        return AESGCM(keys[key_id].material).decrypt(raw[:12], raw[12:], _aad(version, purpose, binding)).decode()
    except (InvalidTag, ValueError):
        raise VaultError(
            f"A secret sealed with key {key_id} does not open here: it was sealed for another row or another "
            "endpoint (copied, or the endpoint was changed without entering the secret again), or it was "
            "tampered with. Enter the secret again together with the endpoint it is for."
        ) from None


def unseal_legacy(sealed: str, *, purpose: str) -> str:
    """Open a `v1` value (bound to its purpose only); used once, by the migrations that seal it again as `v2`."""
    if _split(sealed)[0] != LEGACY_VERSION:
        raise VaultError("This value is not a v1 sealed secret.")
    return unseal(sealed, purpose=purpose)


def _aad(version: str, purpose: str, binding: str) -> bytes:
    if version == LEGACY_VERSION:
        return purpose.encode()
    return f"{version}\x00{purpose}\x00{binding}".encode()


def sealed_key_id(sealed: str) -> str:
    return _split(sealed)[1]


def _split(sealed: str) -> tuple[str, str, str]:
    parts = (sealed or "").split(":", 2)
    if len(parts) != 3 or parts[0] not in (VERSION, LEGACY_VERSION):
        raise VaultError("This value is not a sealed secret of a known format.")
    return parts[0], parts[1], parts[2]


def purpose_of(model: type[models.Model], field_name: str) -> str:
    """The purpose a SealedField's values are bound to: the field's own identity."""
    return f"{model._meta.label_lower}.{field_name}"


def binding_of(row: models.Model) -> str:
    """The binding a row's sealed values carry: what its model's `vault_binding()` says (none without one)."""
    method = getattr(row, "vault_binding", None)
    return method() if method else ""


def sealed_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) holding sealed values, across all installed apps."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, SealedField)
    ]
