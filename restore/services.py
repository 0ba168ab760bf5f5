"""Exporting restore points (and, later, restoring from them)."""

import json
from collections import defaultdict
from pathlib import Path

import orjson

from repositories.services import repository_store
from restore.selectors import NAVIGATION, restore_point_find


def restore_point_export(*, tenant, restore_point: str, output: Path) -> dict:
    """Write one JSON file per object type: the objects as Graph returned them, with their relationships.

    Relationships become navigation properties of their source object, as Graph's `$expand` shows them:
    `members` and `owners` of groups, applications, service principals, administrative units and directory
    roles (lists of {"@odata.type", "id"}), and a user's `manager` ({"id"}). A manifest.json names the tenant,
    the restore point and the number of objects per type.
    """
    ref = restore_point_find(tenant, restore_point)
    rp, key = ref.restore_point, str(tenant.key)
    output.mkdir(parents=True, exist_ok=True)
    counts = {}
    with repository_store(ref.repository) as store:
        navigation = _navigation(store, key, rp.id)
        for object_type in store.type_counts(key, rp.id):
            counts[object_type] = _write_type(store, key, rp.id, object_type, navigation, output)
    manifest = {"tenant": tenant.name, "tenant_id": tenant.directory_id, "restore_point": rp.id,
                "committed_at": rp.committed_at.isoformat(), "kind": rp.kind, "repository": ref.repository.name,
                "objects": counts}
    (output / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _navigation(store, key: str, rp_id: int) -> dict:
    """(object type, id) -> {navigation property: value} for every relationship as of the restore point."""
    result = defaultdict(dict)
    for kind, (source_type, prop) in NAVIGATION.items():
        for rel in store.iter_relations(key, rp_id, kind):
            ref = {"@odata.type": f"#microsoft.graph.{rel.target_type}", "id": rel.target_id} if rel.target_type else {"id": rel.target_id}
            if prop == "manager":
                result[(source_type, rel.source_id)][prop] = ref
            else:
                result[(source_type, rel.source_id)].setdefault(prop, []).append(ref)
    return result


def _write_type(store, key: str, rp_id: int, object_type: str, navigation: dict, output: Path) -> int:
    count = 0
    with open(output / f"{object_type}.json", "wb") as handle:
        handle.write(b"[")
        for obj in store.iter_objects(key, rp_id, object_type):
            extra = navigation.get((object_type, obj.get("id")))
            handle.write((b",\n" if count else b"\n") + orjson.dumps({**obj, **extra} if extra else obj))
            count += 1
        handle.write(b"\n]\n")
    return count
