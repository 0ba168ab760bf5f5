"""Production's current state, read through Graph with the backup collectors themselves (jobs/backup).

A restore plan compares a restore point with production. Reading production is the same work as a full
backup read (every property, every relationship, the recycle bin), so the collectors do it: they feed a
``Snapshot``, which honours the repository session writer's interface (``put_full``, ``put_relations_full``,
``mark_soft_deleted``, ...) and keeps everything in memory instead of staging it in a repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from jobs.backup import backup_type
from repositories.store.canonical import stored
from repositories.store.rows import TypeCounts


@dataclass
class Snapshot:
    """Objects per type (id -> data), relation pairs per kind, and the ids in the recycle bin per type."""

    objects: dict[str, dict[str, dict]] = field(default_factory=dict)
    relations: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    target_types: dict[str, str] = field(default_factory=dict)  # object id -> Graph type of relation targets
    recycle_bin: dict[str, set[str]] = field(default_factory=dict)

    # -- the session writer's interface, as the collectors call it --------------------------------------
    def put_full(self, object_type: str, objects: Iterable[dict]) -> TypeCounts:
        table, counts = self.objects.setdefault(object_type, {}), TypeCounts()
        for obj in objects:
            table[obj["id"]] = stored(obj)
            counts.read += 1
        return counts

    def put_delta(self, object_type: str, items: Iterable[dict]) -> TypeCounts:  # only full reads here
        return self.put_full(object_type, (i for i in items if "@removed" not in i))

    def put_relations_full(self, kind: str, pairs: Iterable[tuple], sources: Iterable[str] | None = None) -> int:
        pairs = list(pairs)
        table = self.relations.setdefault(kind, set())
        if sources is not None:
            drop = set(sources)
            table -= {p for p in table if p[0] in drop}
        for source_id, target_id, *rest in pairs:
            table.add((source_id, target_id))
            if rest and rest[0]:
                self.target_types[target_id] = rest[0]
        return len(pairs)

    def put_relation_changes(self, kind: str, added: Iterable[tuple] = (), removed: Iterable[tuple] = ()) -> None:
        self.put_relations_full(kind, added)
        self.relations[kind] -= {(s, t) for s, t, *_ in removed}

    def mark_soft_deleted(self, object_type: str, ids: Iterable[str]) -> None:
        self.recycle_bin.setdefault(object_type, set()).update(ids)

    def set_sync_state(self, name: str, value: str | None) -> None:
        """A snapshot keeps no delta link: every read of production is a full one."""

    def sync_state(self, name: str) -> None:
        return None

    # -- what the planner reads ---------------------------------------------------------------------------
    def get(self, object_type: str, object_id: str) -> dict | None:
        return self.objects.get(object_type, {}).get(object_id)

    def in_recycle_bin(self, object_type: str, object_id: str) -> bool:
        return object_id in self.recycle_bin.get(object_type, ())

    def exists(self, object_id: str) -> bool:
        return any(object_id in table for table in self.objects.values())


def production_read(client, object_types: Iterable[str], *,
                    progress: Callable[[str, int], None] | None = None) -> Snapshot:
    """Read the types (and their relationships and recycle bin) as they are now, in full."""
    snapshot = Snapshot()
    for object_type in object_types:
        backup_type(client, snapshot, object_type, full=True, progress=progress)
    return snapshot
