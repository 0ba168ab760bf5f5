"""Compare a restore point with the emulator's ground truth (``control.export``).

Normalisation: top-level annotations (``@odata.*``) are ignored, null and missing are equal, and properties
Graph refuses on collection reads (``excluded_for``: single-GET-only ones like ``aboutMe``) are not expected.
Relations are compared as (source, target) pairs among live objects: Graph lists neither the members of a
soft-deleted group nor soft-deleted members (https://learn.microsoft.com/graph/delta-query-groups), while the emulator keeps them in its tables.
"""

from __future__ import annotations

from entrabackup import objecttypes
from entrabackup.graph import excluded_for
from graph_emulator.kinds import kind_of_type

# Our object type -> the key of the emulator's export holding it: the emulator names its kinds itself (it does
# not import the product), so the two meet on the Graph type. The auth methods policy is not a stored kind.
EXPORT_KEYS = {t.name: kind_of_type(t.graph_type) or t.name for t in objecttypes.TYPES}
# Relation kind -> the emulator's export table of it (the manager relation is exported as "managers").
RELATION_KEYS = {
    "group_member": "group_members", "group_owner": "group_owners", "app_owner": "application_owners",
    "sp_owner": "servicePrincipal_owners", "au_member": "administrativeUnitMembers",
    "directory_role_member": "directoryRoleMembers",
}
RELATION_KINDS = [*RELATION_KEYS, "manager"]
assert set(RELATION_KINDS) == set(objecttypes.RELATIONS), "a relation kind of the registry has no ground truth"


def normalise(object_type: str, obj: dict) -> dict:
    graph_type = objecttypes.get(object_type).graph_type
    skip = set(excluded_for(graph_type)) if object_type != "appRoleAssignment" else set()
    return {k: v for k, v in obj.items() if v is not None and "@" not in k and k not in skip}


def truth_snapshot(export: dict) -> dict:
    """{"objects": {type: {id: normalised}}, "relations": {kind: {(source, target)}}, "soft": {ids}}."""
    objects = {}
    for object_type, key in EXPORT_KEYS.items():
        items = export[key]
        items = [items] if isinstance(items, dict) else items
        objects[object_type] = {o["id"]: normalise(object_type, o) for o in items}
    live = {oid for by_id in objects.values() for oid in by_id}
    relations = {}
    for kind, key in RELATION_KEYS.items():
        relations[kind] = {(s, t) for s, targets in export[key].items() for t in targets if s in live and t in live}
    relations["manager"] = {(u, m) for u, m in export["managers"].items() if u in live and m in live}
    soft = {o["id"] for items in export["deletedItems"].values() for o in items}
    return {"objects": objects, "relations": relations, "soft": soft}


def repository_snapshot(store, tenant_key: str, restore_point: int) -> dict:
    """The same shape read from the repository as of ``restore_point``."""
    objects = {t: {o["id"]: normalise(t, o) for o in store.iter_objects(tenant_key, restore_point, t)}
               for t in EXPORT_KEYS}
    rows = store.objects(tenant_key, restore_point, include_deleted=True, limit=1_000_000)
    deleted = {row.object_id: row.deleted for row in rows if row.deleted}
    soft = {oid for oid, reason in deleted.items() if reason == "soft"}
    relations = {kind: {(r.source_id, r.target_id) for r in store.iter_relations(tenant_key, restore_point, kind)
                        if r.source_id not in soft and r.target_id not in soft}
                 for kind in RELATION_KINDS}
    return {"objects": objects, "relations": relations, "deleted": deleted}


def assert_matches(snapshot: dict, truth: dict) -> None:
    """Every type and relation kind equal, with readable messages on the first difference."""
    for object_type, expected in truth["objects"].items():
        got = snapshot["objects"][object_type]
        assert set(got) == set(expected), (
            f"{object_type}: missing {sorted(set(expected) - set(got))[:5]}, extra {sorted(set(got) - set(expected))[:5]}")
        for oid, obj in expected.items():
            if got[oid] != obj:
                diff = sorted(k for k in obj.keys() | got[oid].keys() if obj.get(k) != got[oid].get(k))
                raise AssertionError(f"{object_type} {oid} differs in {diff}")
    for kind, expected in truth["relations"].items():
        got = snapshot["relations"][kind]
        assert got == expected, f"{kind}: missing {sorted(expected - got)[:5]}, extra {sorted(got - expected)[:5]}"
