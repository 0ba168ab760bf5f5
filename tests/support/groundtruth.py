"""Compare an exported restore point (the files restore_point_export writes) with the emulator's ground truth.

Object normalisation is shared with the collectors' tests (jobs/backup/tests/truth.py)."""

import json
from pathlib import Path

from entrabackup import objecttypes
from jobs.backup.tests.truth import EXPORT_KEYS, RELATION_KEYS, normalise

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
