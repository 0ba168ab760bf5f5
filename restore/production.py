"""The live tenant as one side of a comparison: read with the backup's own collectors (jobs/backup, a full
read of every type), compared with a restore point by content hash, nothing written. Django-free."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from entrabackup import objecttypes
from jobs.backup import backup_type
from repositories.store.canonical import content_hash, stored
from repositories.store.diff import ObjectDiff, RelationDiff, Side
from repositories.store.rows import TypeCounts


class CaptureWriter:
    """The repository session writer's interface (repositories/store/writer.py) for a read that is not a
    backup: the collectors hand it complete listings, and it keeps what differs from restore point `r`
    (by content hash, as a backup would decide a new version) and the relationship pairs. Nothing is written."""

    def __init__(self, store, tenant_key: str, r: int):
        self.store, self.key, self.r = store, tenant_key, r
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.differing: dict[str, dict[str, dict]] = defaultdict(dict)
        self.soft: dict[str, set[str]] = defaultdict(set)
        self.pairs: dict[str, dict[tuple[str, str], str | None]] = defaultdict(dict)
        self.hashes: dict[str, dict] = {}

    def put_full(self, object_type: str, objects: Iterable[dict]) -> TypeCounts:
        before = self.hashes.setdefault(object_type, self.store.object_states(self.key, self.r, object_type))
        counts, seen = TypeCounts(), self.seen[object_type]
        for obj in objects:
            data = stored(obj)
            object_id = str(data["id"])
            counts.read += 1
            seen.add(object_id)
            if before.get(object_id, (None, None))[0] != content_hash(data, object_type):
                self.differing[object_type][object_id] = data
        return counts

    def put_delta(self, object_type: str, items) -> TypeCounts:
        raise NotImplementedError("A comparison reads every type in full; there is no delta to follow.")

    def mark_soft_deleted(self, object_type: str, ids: Iterable[str]) -> None:
        self.soft[object_type].update(ids)

    def put_relations_full(self, kind: str, pairs: Iterable[tuple], sources=None) -> int:
        for source, target, target_type in pairs:
            self.pairs[kind][(source, target)] = target_type
        return 0

    def put_relation_changes(self, kind: str, added=(), removed=()) -> None:
        raise NotImplementedError("A comparison reads every type in full; there are no relation changes to apply.")

    def sync_state(self, name: str) -> None:
        return None  # never a saved delta link: every round is an initial (complete) one

    def set_sync_state(self, name: str, value) -> None:
        pass


def production_differences(store, tenant_key: str, r: int, client, types, object_id):
    writer = CaptureWriter(store, tenant_key, r)
    read = types or objecttypes.NAMES
    for object_type in read:
        backup_type(client, writer, object_type, full=True)
    diffs: list[ObjectDiff] = []
    for object_type in read:
        diffs += _type_differences(store, tenant_key, r, writer, object_type, object_id)
    # The repository keeps the relationships of soft-deleted objects (Graph lists neither them nor their
    # members; a restore from the recycle bin brings them back): not a difference from production.
    dead = {oid for states in writer.hashes.values() for oid, (_, deleted) in states.items() if deleted}
    relations = []
    for kind, (source, _) in objecttypes.RELATIONS.items():
        if source.name in read:
            pairs = store.relation_pairs(tenant_key, r, kind)
            relations += [d for d in _pair_differences(pairs, writer.pairs[kind], kind, object_id)
                          if d.added or not {d.source_id, d.target_id} & dead]
    return diffs, relations


def _type_differences(store, tenant_key, r, writer: CaptureWriter, object_type: str, object_id) -> list[ObjectDiff]:
    before, seen, differing = writer.hashes[object_type], writer.seen[object_type], writer.differing[object_type]
    soft = writer.soft[object_type]
    gone = [oid for oid, (_, deleted) in before.items() if deleted is None and oid not in seen]
    ids = sorted(set(differing) | set(gone))
    if object_id is not None:
        ids = [i for i in ids if i == object_id]
    old = store.object_sides(tenant_key, r, object_type, ids) if ids else {}
    diffs = []
    for oid in ids:
        if oid in differing:
            data = differing[oid]
            new = Side(None, content_hash(data, object_type), data, None)
        else:
            new = Side("soft" if oid in soft else "hard", None, None, None)
        diffs.append(ObjectDiff(object_type, oid, old.get(oid), new))
    return diffs


def _pair_differences(before: dict, after: dict, kind: str, object_id) -> list[RelationDiff]:
    found = [RelationDiff(kind, s, t, tt, True) for (s, t), tt in after.items() if (s, t) not in before]
    found += [RelationDiff(kind, s, t, tt, False) for (s, t), tt in before.items() if (s, t) not in after]
    if object_id is not None:
        found = [d for d in found if object_id in (d.source_id, d.target_id)]
    return sorted(found, key=lambda d: (d.source_id, d.target_id))
