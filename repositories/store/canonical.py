"""Canonical form and content hash of a directory object, and the fields the repository indexes.

Two reads of an unchanged object must hash the same, whatever the read path:
- keys are sorted (orjson OPT_SORT_KEYS, nested objects too);
- top-level nulls are dropped: a delta round omits never-set properties where a `$select` read returns null;
- instance annotations are dropped (`@odata.context`, `@odata.etag`, `members@delta`, `@removed`...), except
  `@odata.type`, which tells a user from a group in mixed collections and is part of the object;
- VOLATILE properties are dropped: they change without anyone changing the object, and a new version for
  each of them would store the whole object again every day.
"""

import hashlib

import orjson

from entrabackup import objecttypes

# Declared per type in the object type registry, with the reason for each.
VOLATILE: dict[str, frozenset[str]] = {t.name: t.volatile for t in objecttypes.TYPES if t.volatile}
NO_VOLATILE: frozenset[str] = frozenset()
KEPT_ANNOTATION = "@odata.type"
HASH_BYTES = 16  # 128 bits: collisions are irrelevant at directory sizes


def volatile(object_type: str) -> frozenset[str]:
    return VOLATILE.get(object_type, NO_VOLATILE)


def stored(obj: dict) -> dict:
    """What the repository keeps of an object: everything but instance annotations (see module doc)."""
    if any("@" in key for key in obj):
        return {k: v for k, v in obj.items() if "@" not in k or k == KEPT_ANNOTATION}
    return obj


def canonical(obj: dict, object_type: str) -> dict:
    """The part of an object that identifies its content (see module doc)."""
    skip = volatile(object_type)
    return {k: v for k, v in obj.items()
            if v is not None and k not in skip and ("@" not in k or k == KEPT_ANNOTATION)}


def content_hash(obj: dict, object_type: str) -> bytes:
    """First 16 bytes of the sha-256 of the canonical JSON."""
    raw = orjson.dumps(canonical(obj, object_type), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).digest()[:HASH_BYTES]


def search_fields(obj: dict) -> tuple[str | None, str | None, str | None, str | None]:
    """(display_name, upn, mail, app_id) as indexed for search; non-strings are ignored."""
    return tuple(v if isinstance(v, str) else None for v in map(obj.get, objecttypes.SEARCH_FIELDS))


def changed_properties(old: dict | None, new: dict | None, object_type: str) -> list[str]:
    """Names of the non-volatile top-level properties that differ (null and missing count as equal)."""
    if old is None or new is None:
        return []
    a, b = canonical(old, object_type), canonical(new, object_type)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
