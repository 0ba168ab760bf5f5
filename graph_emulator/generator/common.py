"""Deterministic id/time helpers shared by the generator modules."""

from __future__ import annotations

import base64
import random

from graph_emulator.common import iso


def guid(rng: random.Random) -> str:
    """Random version-4 GUID string from the given stream (hand-formatted: uuid.UUID is slow at 100k scale)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def opaque_id(rng: random.Random, nbytes: int = 32) -> str:
    """Base64url ids like appRoleAssignment / oauth2PermissionGrant ids (not GUIDs)."""
    return base64.urlsafe_b64encode(rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")).decode().rstrip("=")


def sub_rng(tenant_seed: int, part: str) -> random.Random:
    """Independent stream per part so adding a feature doesn't reshuffle other objects."""
    return random.Random(f"{tenant_seed}/{part}")


def past(rng: random.Random, base: float, max_days: float, min_days: float = 0.0) -> str:
    return iso(base - rng.uniform(min_days, max_days) * 86400)


def sid(rng: random.Random, prefix: str = "S-1-5-21") -> str:
    return f"{prefix}-{rng.randrange(10**9)}-{rng.randrange(10**9)}-{rng.randrange(10**9)}-{rng.randrange(1000, 99999)}"
