"""An object's history across every restore point: attributes old → new, and the relationships it gained or
lost on either side (memberships, owners, manager, directory roles, administrative units) with the role and
app role assignments it holds. Django-free; the restore app joins the audit records that explain each entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from restore.compare import (
    ADDED,
    CHANGED,
    CREATED,
    DELETED,
    RELATION_WORDS,
    REMOVED,
    RESTORED,
    AttributeChange,
    Ref,
    RelationChange,
    _with_upn,
    attribute_changes,
    ca_reference_changes,
)


@dataclass
class HistoryEntry:
    """What one restore point recorded of the object."""

    restore_point: object  # repositories.store RestorePoint
    previous: object | None  # the restore point before it, when there is one
    change: str | None = None  # created | deleted | restored | changed; None: relationships only
    deleted: str | None = None
    attributes: list[AttributeChange] = field(default_factory=list)
    relations: list[RelationChange] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)  # filled by the caller (restore/selectors.py)


def object_timeline(store, tenant_key: str, object_type: str, object_id: str, points: list,
                    include_volatile: bool = False) -> list[HistoryEntry]:
    """Entries newest first, one per restore point that changed the object or its relationships. `points`
    are the repository's committed restore points (any order). Relationships present at the first restore
    point are its starting state, not changes."""
    points = sorted(points, key=lambda p: p.id)
    if not points:
        return []
    entries: dict[int, HistoryEntry] = {}
    before = {p.id: prev for prev, p in zip([None, *points], points, strict=False)}
    by_id = {p.id: p for p in points}

    def entry(r: int) -> HistoryEntry:
        if r not in entries:
            entries[r] = HistoryEntry(by_id.get(r), before.get(r))
        return entries[r]

    pending = _versions(store, tenant_key, object_type, object_id, entry, include_volatile)
    relations, assignments = store.object_timeline(tenant_key, object_id)
    pending += _relation_events(relations, object_id, points[0].id) + _assignment_events(assignments, points[0].id)
    names = store.names(tenant_key, [other for *_, other, _ in pending], points[-1].id)
    for r, kind, word, change, outgoing, other, other_type in pending:
        if r not in by_id:
            continue
        found = names.get(other)
        ref = (Ref(found[0], other, _with_upn(found[1], found[2]) or found[3], found[4]) if found
               else Ref(other_type, other, None, "unknown"))
        entry(r).relations.append(RelationChange(kind, word, ref, change, outgoing))
    for item in entries.values():
        item.relations.sort(key=lambda rel: (rel.relationship, rel.change, rel.other.label.lower()))
        if item.change is None and item.relations:
            item.change = CHANGED
    return [entries[r] for r in sorted(entries, reverse=True) if entries[r].restore_point is not None]


def _versions(store, tenant_key, object_type, object_id, entry, include_volatile) -> list[tuple]:
    """Fill the entries' attribute changes; returns the Conditional Access reference events (as relationships)."""
    previous, last_live, events = None, None, []
    for version in store.object_history(tenant_key, object_type, object_id):
        item = entry(version.valid_from)
        if version.deleted:
            item.change, item.deleted = DELETED, version.deleted
        elif previous is None:
            item.change = CREATED
        else:
            item.attributes = attribute_changes(last_live, version.data, object_type, include_volatile)
            if object_type == "conditionalAccessPolicy":
                events += [(version.valid_from, kind, word, ADDED if added else REMOVED, True, other, other_type)
                           for kind, word, other, added, other_type in ca_reference_changes(last_live, version.data)]
            if previous.deleted:
                item.change = RESTORED if previous.deleted == "soft" else CREATED
            else:
                item.change = CHANGED if item.attributes else None
        previous = version
        if not version.deleted:
            last_live = version.data
    return events


def _relation_events(rows: list[tuple], object_id: str, first: int) -> list[tuple]:
    """(restore point, kind, word, added|removed, outgoing, other id, other type) of each relationship version."""
    events = []
    for kind, source, target, target_type, valid_from, valid_to in rows:
        outgoing = source == object_id
        word = RELATION_WORDS.get(kind, (kind, kind))[0 if outgoing else 1]
        other, other_type = (target, target_type) if outgoing else (source, None)
        if valid_from != first:
            events.append((valid_from, kind, word, ADDED, outgoing, other, other_type))
        if valid_to is not None:
            events.append((valid_to, kind, word, REMOVED, outgoing, other, other_type))
    return events


def _assignment_events(rows: list[tuple], first: int) -> list[tuple]:
    """Role and app role assignments held by the object: assigned when first seen, removed at their tombstone."""
    events, seen = [], defaultdict(list)
    for object_type, object_id, valid_from, _valid_to, deleted, data in rows:
        seen[(object_type, object_id)].append((valid_from, deleted, data))
    for (object_type, _), versions in seen.items():
        data = next((d for _, deleted, d in versions if d), {}) or {}
        other = data.get("roleDefinitionId") if object_type == "roleAssignment" else data.get("resourceId")
        word = "role assignment" if object_type == "roleAssignment" else "app role assignment"
        live = False
        for valid_from, deleted, _ in versions:
            if not deleted and not live and valid_from != first:
                events.append((valid_from, object_type, word, ADDED, True, other, None))
            elif deleted and live:
                events.append((valid_from, object_type, word, REMOVED, True, other, None))
            live = not deleted
    return [e for e in events if e[5]]
