"""Compare an exported restore point (the files restore_point_export writes) with the emulator's ground truth.

Object normalisation is shared with the collectors' tests (jobs/backup/tests/truth.py)."""

import json
from pathlib import Path

from entrabackup import objecttypes
from jobs.backup.tests.truth import EXPORT_KEYS, RELATION_KEYS, normalise, truth_snapshot

TYPES = EXPORT_KEYS  # our object type -> the key of the emulator export holding it
# (source type, navigation property) -> the emulator export's table of that relation; managers apart.
RELATIONS = {(source.name, relation.navigation): RELATION_KEYS[kind]
             for kind, (source, relation) in objecttypes.RELATIONS.items() if kind in RELATION_KEYS}
NAVIGATION = {relation.navigation for _, relation in objecttypes.RELATIONS.values()}


def _clean(object_type: str, obj: dict) -> dict:
    """Null and missing are the same; annotations and navigation properties are compared apart."""
    return {k: v for k, v in normalise(object_type, obj).items() if k not in NAVIGATION}


def _truth_objects(truth: dict, object_type: str) -> dict:
    value = truth[TYPES[object_type]]
    objects = [value] if isinstance(value, dict) else value
    return {obj["id"]: obj for obj in objects}


def differences(export_dir: Path, truth: dict, *, limit: int = 20) -> list[str]:
    """Everything in which the export and the ground truth disagree (empty when they agree)."""
    diffs = []
    backed_up = {}
    for object_type in TYPES:
        path = export_dir / f"{object_type}.json"
        objects = {obj["id"]: obj for obj in json.loads(path.read_text())} if path.exists() else {}
        backed_up[object_type] = objects
        expected = _truth_objects(truth, object_type)
        if set(objects) != set(expected):
            diffs.append(f"{object_type}: missing {sorted(set(expected) - set(objects))[:5]}, "
                         f"extra {sorted(set(objects) - set(expected))[:5]}")
            continue
        for object_id, obj in expected.items():
            mine, theirs = _clean(object_type, objects[object_id]), _clean(object_type, obj)
            if mine != theirs:
                keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                diffs.append(f"{object_type} {object_id}: {keys[:8]}")
    diffs += _relation_differences(backed_up, truth)
    return diffs[:limit]


def _relation_differences(backed_up: dict, truth: dict) -> list[str]:
    diffs = []
    # Only live objects are in an export; a soft-deleted object keeps its relationships in both, unseen.
    # Graph lists no soft-deleted member or owner, while the emulator keeps them in its tables: pairs whose
    # target is in the recycle bin are left out on both sides (those to hard-deleted objects still count).
    soft = {obj["id"] for items in truth["deletedItems"].values() for obj in items}
    for (object_type, prop), key in RELATIONS.items():
        live = set(_truth_objects(truth, object_type))
        expected = {src: ids for src, targets in truth[key].items()
                    if src in live and (ids := sorted(t for t in targets if t not in soft))}
        mine = {oid: ids for oid, obj in backed_up[object_type].items()
                if (ids := sorted(ref["id"] for ref in obj.get(prop, []) if ref["id"] not in soft))}
        if mine != expected:
            wrong = sorted(k for k in set(mine) | set(expected) if mine.get(k) != expected.get(k))
            diffs.append(f"{object_type}.{prop}: {len(wrong)} sources differ, e.g. {wrong[:3]}")
    managers = {oid: obj["manager"]["id"] for oid, obj in backed_up["user"].items()
                if obj.get("manager") and obj["manager"]["id"] not in soft}
    live_users = set(_truth_objects(truth, "user"))
    expected = {uid: mid for uid, mid in truth["managers"].items() if uid in live_users and mid not in soft}
    if managers != expected:
        wrong = sorted(k for k in set(managers) | set(expected) if managers.get(k) != expected.get(k))
        diffs.append(f"user.manager: {len(wrong)} users differ, e.g. "
                     + ", ".join(f"{k} backed up {managers.get(k)} expected {expected.get(k)}" for k in wrong[:3]))
    return diffs


# ---- restore tests: where the tenant now differs from the tenant at a restore point -----------------------

# Attributes a restore cannot write back, whatever it does: set by the service when an object is created,
# written or signs in, or derived from other attributes. Volatile ones come from the registry.
NOT_RESTORABLE = frozenset({
    "createdDateTime", "modifiedDateTime", "deletedDateTime", "lastModifiedDateTime", "renewedDateTime",
    "lastPasswordChangeDateTime", "securityIdentifier", "onPremisesProvisioningErrors", "creationType",
    "policyVersion",
})
# Types whose ids a restore cannot keep (a new assignment gets a new id): compared by what they assign.
NATURAL_KEYS = {"appRoleAssignment": ("principalId", "resourceId", "appRoleId"),
                "roleAssignment": ("principalId", "roleDefinitionId", "directoryScopeId"),
                "oauth2PermissionGrant": ("clientId", "consentType", "principalId", "resourceId"),
                "directoryRole": ("roleTemplateId",)}
# Properties that follow the assignment's ends: equal whenever the key is equal.
DERIVED = {"appRoleAssignment": {"principalDisplayName", "resourceDisplayName", "principalType"}}


def _remap(value, remapped: dict):
    """``value`` with every string that is an old id replaced by its new id, at any depth."""
    if isinstance(value, str):
        return remapped.get(value, value)
    if isinstance(value, list):
        return [_remap(v, remapped) for v in value]
    if isinstance(value, dict):
        return {k: _remap(v, remapped) for k, v in value.items()}
    return value


def _comparable(object_type: str, obj: dict) -> dict:
    ignored = NOT_RESTORABLE | objecttypes.get(object_type).volatile | DERIVED.get(object_type, set())
    return {k: v for k, v in obj.items() if k not in ignored and k != "id"}


def _keyed(object_type: str, objects: dict, live: set[str]) -> dict:
    """id -> object, or natural key -> object for the types whose ids a restore cannot keep. Assignments of a
    principal or resource in the recycle bin are not listed by Graph, so they are left out."""
    key = NATURAL_KEYS.get(object_type)
    if key is None:
        return dict(objects)
    return {"|".join(str(obj.get(k)) for k in key): obj for obj in objects.values()
            if all(obj.get(end) in live for end in ("principalId", "resourceId") if end in key)}


def tenant_differences(truth_then: dict, truth_now: dict, *, remapped: dict[str, str] | None = None,
                       skipped: set[tuple[str, str, str | None]] = frozenset(), limit: int = 50) -> list[str]:
    """Where the tenant now (an emulator export) differs from the tenant at a restore point (an export taken
    then), as readable lines; empty when a restore put everything back.

    ``remapped`` maps ids of objects that were re-created (and appIds of re-created applications) to their
    new ones: every reference to an old id, in attributes and relationships, is read as the new id.
    ``skipped`` holds (object type, old id, attribute) the restore left out with a reason (read-only,
    synced from on-premises, not restorable); attribute None skips the whole object, with its assignments and
    relationships; a relationship kind as the type (``group_member``, the group's id, ``members``) skips that
    source's pairs of that kind. Attributes no restore can write (``NOT_RESTORABLE``, the registry's volatile ones) are never
    compared; app role and directory role assignments are matched by what they assign, not by id."""
    remapped = remapped or {}
    then, now = truth_snapshot(truth_then), truth_snapshot(truth_now)
    skip_objects = {(t, remapped.get(i, i)) for t, i, attr in skipped if attr is None}
    skip_attrs = {(t, remapped.get(i, i), attr) for t, i, attr in skipped if attr is not None}
    diffs: list[str] = []
    skipped_ids = {oid for _, oid in skip_objects}  # their assignments and relationships are skipped too
    # A relationship the plan left out (a synced or dynamic group's members): (kind, source) with attribute set.
    skip_sources = {(t, remapped.get(i, i)) for t, i, attr in skipped if attr is not None}
    live_then = {remapped.get(i, i) for objects in then["objects"].values() for i in objects}
    live_now = {i for objects in now["objects"].values() for i in objects}
    for object_type, objects in then["objects"].items():
        expected = _keyed(object_type, {remapped.get(i, i): _remap(o, remapped) for i, o in objects.items()},
                          live_then)
        actual = _keyed(object_type, now["objects"][object_type], live_now)
        for key in sorted(set(expected) | set(actual)):
            obj = expected.get(key) or actual.get(key)
            ends = {obj.get("principalId"), obj.get("resourceId")} if object_type in NATURAL_KEYS else set()
            if (object_type, obj["id"]) in skip_objects or ends & skipped_ids:
                continue
            oid = obj["id"]
            if key not in actual:
                diffs.append(f"{object_type} {key}: missing now")
            elif key not in expected:
                diffs.append(f"{object_type} {key}: not there at the restore point")
            else:
                want, got = _comparable(object_type, expected[key]), _comparable(object_type, actual[key])
                for attr in sorted(set(want) | set(got)):
                    if want.get(attr) != got.get(attr) and (object_type, oid, attr) not in skip_attrs:
                        diffs.append(f"{object_type} {key}: {attr} was {want.get(attr)!r}, is {got.get(attr)!r}")
    for kind, pairs in then["relations"].items():
        expected = {(remapped.get(s, s), remapped.get(t, t)) for s, t in pairs}
        expected = {(s, t) for s, t in expected if not {s, t} & skipped_ids and (kind, s) not in skip_sources}
        actual = {(s, t) for s, t in now["relations"][kind] if not {s, t} & skipped_ids and (kind, s) not in skip_sources}
        for s, t in sorted(expected - actual):
            diffs.append(f"{kind} {s} -> {t}: missing now")
        for s, t in sorted(actual - expected):
            diffs.append(f"{kind} {s} -> {t}: not there at the restore point")
    return diffs[:limit]
