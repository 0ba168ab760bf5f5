"""Collectors for the delta-tracked directory types (``read=DELTA`` in the object type registry): users, groups,
applications, service principals, administrative units, devices and organizational contacts.

https://learn.microsoft.com/graph/delta-query-overview and
https://learn.microsoft.com/graph/delta-query-groups. One delta round per session:
- no saved link, or a full session: an initial round (no token) with `$select` of every property plus the
  tracked relationships (`manager` for users, `members` for groups and AUs). It lists every current object,
  so it is the complete read (`put_full`: objects not seen are deleted);
- otherwise the saved `@odata.deltaLink` is followed and the changes overlay the last versions (`put_delta`);
- an expired link (400 syncStateNotFound, 410 Gone) restarts as an initial round: mode "resync".
The round's last `@odata.deltaLink` is saved with the restore point (`set_sync_state`), so a failed session
never moves the link past data that was not committed.

Known gaps of delta rounds (a full session closes them): owners are re-read only for objects the round
reports, so an owner change alone, or the permanent deletion of a user who owns something, shows in the next
full session; Graph reports neither the members of a soft-deleted group nor soft-deleted members, so those
relations stay as they were (kept for a restore) until a full session drops them.

API per type: user-delta, group-delta, application-delta, serviceprincipal-delta, administrativeunit-delta,
device-delta, orgcontact-delta (https://learn.microsoft.com/graph/api/<type>-delta; the registry holds each
documented path); deleted items:
https://learn.microsoft.com/graph/api/directory-deleteditems-list ; directory extension properties (returned
only when selected by name, https://learn.microsoft.com/graph/extensibility-overview):
https://learn.microsoft.com/graph/api/directoryobject-getavailableextensionproperties
"""

from __future__ import annotations

import hashlib
import itertools
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from entrabackup import objecttypes
from entrabackup.graph import GraphError, select_for

from .common import Pager, TypeResult, prefetched, target_type
from .owners import read_all_owners, read_owners_of


@dataclass(frozen=True)
class DeltaSpec:
    """What a delta round of one type needs, derived from its entry in the object type registry."""

    path: str  # the collection, for owners (/groups/{id}/owners)
    delta_path: str  # the documented delta function (/administrativeUnits/delta)
    tracked: tuple[str, ...] = ()  # relationships added to $select so delta reports them (members, manager)
    relations: tuple[tuple[str, str], ...] = ()  # (annotation, relation kind), e.g. members@delta -> group_member
    single_valued: frozenset[str] = frozenset()  # kinds whose annotation states the whole value (manager)
    deleted_path: str | None = None  # /directory/deletedItems/microsoft.graph.<type> for soft-deletable types
    owners: str | None = None  # owner relation kind, read outside delta (owners.py)
    extension_target: str | None = None  # targetObjects value of directory extensions that apply to the type


def delta_spec(spec: objecttypes.ObjectType) -> DeltaSpec:
    """The round of a registry type: relations read from delta are $selected and come back as
    ``<navigation>@delta`` annotations; owners are read beside the round."""
    tracked = [r for r in spec.relations if r.read == objecttypes.FROM_DELTA]
    owners = [r.kind for r in spec.relations if r.read == objecttypes.FROM_OWNERS]
    return DeltaSpec(
        path=spec.path, delta_path=spec.delta_path, tracked=tuple(r.navigation for r in tracked),
        relations=tuple((f"{r.navigation}@delta", r.kind) for r in tracked),
        single_valued=frozenset(r.kind for r in tracked if r.single_valued), deleted_path=spec.deleted_path,
        owners=owners[0] if owners else None, extension_target=spec.extension_target)


DELTA_TYPES: dict[str, DeltaSpec] = {t.name: delta_spec(t) for t in objecttypes.TYPES if t.read == objecttypes.DELTA}


@dataclass
class RoundLog:
    """What a round said besides the objects: relation pairs and which objects changed or went away."""

    added: dict[str, list[tuple]] = field(default_factory=dict)  # kind -> (source, target, target type)
    removed: dict[str, list[tuple]] = field(default_factory=dict)  # kind -> (source, target)
    stated: dict[str, set[str]] = field(default_factory=dict)  # single-valued kind -> sources that stated it
    present: list[str] = field(default_factory=list)  # ids of objects returned (not removed), in order
    removals: dict[str, str] = field(default_factory=dict)  # id -> @removed reason


def backup_delta_type(client, writer, object_type: str, full: bool, pager: Pager) -> TypeResult:
    spec = DELTA_TYPES[object_type]
    pager.check()
    warnings: list[str] = []
    select = [*select_for(objecttypes.get(object_type).graph_type), *_extensions(client, spec, warnings), *spec.tracked]
    link = _saved_link(writer, object_type, select, full)
    round_ = client.delta_or_full(spec.delta_path, delta_link=link, select=select)
    pager.check()
    pages = prefetched(round_)  # the next page is read while this one is stored
    first = next(pages)  # an expired link falls back here, so the mode is known before anything is stored
    mode = "full" if link is None else ("resync" if round_.resynced else "delta")
    result = TypeResult(object_type, mode, warnings=warnings)
    if round_.resynced:
        result.warnings.append(f"{round_.resync_reason}; did a full read.")
    log = RoundLog()
    items = _merged_items(pager.values(itertools.chain([first], pages)), spec, log, keep_removed=mode == "delta")
    if mode == "delta":
        result.counts = writer.put_delta(object_type, items).as_dict()
        _delta_relations(writer, spec, log, result)
    else:
        result.counts = writer.put_full(object_type, items).as_dict()
        _full_relations(writer, spec, log, result)
        _mark_soft_deleted(client, writer, object_type, spec, pager)
    _owners(client, writer, spec, log, mode, pager, result)
    writer.set_sync_state(f"delta:{object_type}", round_.delta_link)
    writer.set_sync_state(f"delta-select:{object_type}", _fingerprint(select))
    return result


# Extension properties per client for a few minutes: one request per session instead of one per type,
# while a long-lived client still notices new extensions.
_EXTENSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
EXTENSIONS_TTL = 600.0


def _extensions(client, spec: DeltaSpec, warnings: list[str]) -> list[str]:
    """Names of the directory extension properties (extension_{appId}_{name}) registered for the type.
    A new extension changes the $select, so the next round is a full one that reads it everywhere."""
    if spec.extension_target is None:
        return []
    read_at, known = _EXTENSIONS.get(client, (0.0, None))
    if known is None or time.monotonic() - read_at > EXTENSIONS_TTL:
        try:
            answer = client.post("/directoryObjects/getAvailableExtensionProperties", {}, idempotent=True)
        except GraphError as exc:  # e.g. no Directory.Read.All: back up everything else
            warnings.append(f"Directory extension properties not read ({exc}); they are not in this backup.")
            return []
        known = list((answer or {}).get("value", ()))
        _EXTENSIONS[client] = (time.monotonic(), known)
    return sorted({p["name"] for p in known if spec.extension_target in (p.get("targetObjects") or ())})


def _saved_link(writer, object_type: str, select: list[str], full: bool) -> str | None:
    """The link to follow, or None for an initial round. A link saved with another $select (an upgrade
    added properties) would not track the new ones (https://learn.microsoft.com/graph/delta-query-overview: $select is encoded in the token)."""
    if full:
        return None
    link = writer.sync_state(f"delta:{object_type}")
    if link and writer.sync_state(f"delta-select:{object_type}") != _fingerprint(select):
        return None
    return link


def _fingerprint(select: list[str]) -> str:
    return hashlib.sha256(",".join(select).encode()).hexdigest()[:16]


def _merged_items(items, spec: DeltaSpec, log: RoundLog, keep_removed: bool) -> Iterator[dict]:
    """Each object once per round: a large group comes on consecutive pages, each with a slice of
    members@delta and the same properties (https://learn.microsoft.com/graph/delta-query-groups) — its slices are merged. Relationship annotations
    go to ``log``; objects are yielded without them (other @-annotations are left to the store, which keeps
    none but @odata.type)."""
    pending: dict | None = None
    for item in items:
        oid = item["id"]
        _take_relations(item, spec, log)
        if "@removed" in item:
            if pending is not None:
                yield pending
                pending = None
            log.removals[oid] = (item["@removed"] or {}).get("reason") or "changed"
            if keep_removed:  # in an initial round a removed object simply is not part of the full read
                yield item
            continue
        log.removals.pop(oid, None)  # removed then restored within the round
        # The item is ours (freshly parsed), so it becomes the pending object without a copy; its tracked
        # relationship annotations were popped above and the store drops any other instance annotation.
        if pending is not None and pending["id"] == oid:
            pending.update(item)
            continue
        if pending is not None:
            yield pending
        pending = item
        log.present.append(oid)
    if pending is not None:
        yield pending


def _take_relations(item: dict, spec: DeltaSpec, log: RoundLog) -> None:
    """Move the item's relationship annotations (members@delta, manager@delta) into ``log``: popped, so the
    object goes on without them and without a per-key scan of every object."""
    oid = item["id"]
    for annotation, kind in spec.relations:
        refs = item.pop(annotation, None)
        if refs is None:
            continue
        if kind in spec.single_valued:
            log.stated.setdefault(kind, set()).add(oid)
        for ref in refs:
            if "@removed" in ref:
                log.removed.setdefault(kind, []).append((oid, ref["id"]))
            else:
                log.added.setdefault(kind, []).append((oid, ref["id"], target_type(ref)))


def _full_relations(writer, spec: DeltaSpec, log: RoundLog, result: TypeResult) -> None:
    """An initial round lists every current relationship: complete for the kind."""
    for _, kind in spec.relations:
        pairs = list(dict.fromkeys(log.added.get(kind, ())))
        added = writer.put_relations_full(kind, pairs, None)
        result.relations[kind] = {"pairs": len(pairs), "added": added}


def _delta_relations(writer, spec: DeltaSpec, log: RoundLog, result: TypeResult) -> None:
    """Changes only. A single-valued relationship (manager) states the whole value for the objects that
    carry it. A permanently deleted object's relations (Graph reports no member removals for a deleted
    group) are closed by the repository itself when it writes the 'hard' tombstone."""
    for _, kind in spec.relations:
        added, removed = log.added.get(kind, []), log.removed.get(kind, [])
        if kind in spec.single_valued:
            sources = log.stated.get(kind, set())
            writer.put_relations_full(kind, added, sorted(sources))
            result.relations[kind] = {"added": len(added), "removed": len(removed), "sources": len(sources)}
            continue
        writer.put_relation_changes(kind, added, removed)
        result.relations[kind] = {"added": len(added), "removed": len(removed)}


def _mark_soft_deleted(client, writer, object_type: str, spec: DeltaSpec, pager: Pager) -> None:
    """Objects in the recycle bin are soft-deleted (restorable for 30 days) rather than gone (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
    if spec.deleted_path is None:
        return
    pages = client.iter_pages(spec.deleted_path, {"$select": "id", "$top": "999"})
    ids = [obj["id"] for page in pager.pages(pages, count=False) for obj in page.get("value", ())]
    writer.mark_soft_deleted(object_type, ids)


def _owners(client, writer, spec: DeltaSpec, log: RoundLog, mode: str, pager: Pager, result: TypeResult) -> None:
    if spec.owners is None:
        return
    if mode != "delta":
        pairs, warnings = read_all_owners(client, spec.path, pager)
        added = writer.put_relations_full(spec.owners, pairs, None)
        result.relations[spec.owners] = {"pairs": len(pairs), "added": added}
    else:
        # Owners of objects the round did not report are assumed unchanged (delta does not track owners);
        # those of permanently deleted objects are closed by the repository with their tombstone.
        pairs, warnings = read_owners_of(client, spec.path, log.present, pager)
        if log.present:
            writer.put_relations_full(spec.owners, pairs, log.present)
        result.relations[spec.owners] = {"pairs": len(pairs), "sources": len(log.present)}
    result.warnings.extend(warnings)
