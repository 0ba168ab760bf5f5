"""Signing of webhook bodies, and the check a receiver makes (docs/notifications.md shows it in a receiver).

The signature is HMAC-SHA256 over the raw body with the channel's secret, sent as
`X-Entrabackup-Signature: sha256=<hex>`. The body carries the send time (`"timestamp"`, Unix seconds), the
same value as the `X-Entrabackup-Timestamp` header: the time is signed with the rest, so a receiver that
refuses old timestamps refuses a replayed request, and one that remembers `X-Entrabackup-Delivery` ids
refuses a repeat inside the window.
"""

import hashlib
import hmac
import json
import time

SIGNATURE_HEADER = "X-Entrabackup-Signature"
TIMESTAMP_HEADER = "X-Entrabackup-Timestamp"
EVENT_HEADER = "X-Entrabackup-Event"
DELIVERY_HEADER = "X-Entrabackup-Delivery"
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A webhook request that must be refused: the reason, never the secret."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, headers, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """What a receiver checks: the signature of the raw body, then the timestamp (header and body agree and
    are at most `tolerance` seconds old). Raises SignatureError."""
    given = headers.get(SIGNATURE_HEADER) or ""
    if not hmac.compare_digest(given, signature(secret, body)):
        raise SignatureError("bad signature")
    stamp = headers.get(TIMESTAMP_HEADER) or ""
    if not stamp.isdigit() or json.loads(body).get("timestamp") != int(stamp):
        raise SignatureError("timestamp missing or not the signed one")
    if abs((now if now is not None else time.time()) - int(stamp)) > tolerance:
        raise SignatureError("timestamp too old: a replay?")
