"""Change reports: what differs between two restore points, or between a restore point and production.

Django-free: it takes a repository store (repositories/store) and, for production, a Graph client, and
returns a ChangeReport. The differences come from the version tables (repositories/store/diff.py): only the
rows the restore points between the two sides wrote are read. Production is read with the backup's own
collectors (jobs/backup) into a CaptureWriter, which keeps only the objects whose content hash differs from
the restore point's, and writes nothing.

    report = compare(store, tenant_key, 41, 42, types=["user", "group"])
    report = compare(store, tenant_key, 42, Production(graph_client))
    for change in report.changes: change.object_type, change.object_id, change.name, change.change,
        change.attributes (name, old, new), change.relations (kind, relationship, other: Ref, change)

See docs/compare.md.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace

import orjson

from entrabackup import objecttypes
from repositories.store.canonical import volatile
from repositories.store.diff import ObjectDiff, RelationDiff, Side
from restore.production import production_differences

CREATED, DELETED, RESTORED, CHANGED = "created", "deleted", "restored", "changed"
CHANGE_KINDS = (CREATED, DELETED, RESTORED, CHANGED)
ADDED, REMOVED = "added", "removed"

# Stamps Graph sets on every write: the change they date is shown by the other attributes. Left out with the
# registry's volatile properties unless a report asks for them.
WRITE_STAMPS = frozenset({"modifiedDateTime", "lastModifiedDateTime"})

# Conditional Access policy properties that name other objects: shown as relationships, by name.
CA_REFERENCES = {
    "conditions.users.includeUsers": "includes user", "conditions.users.excludeUsers": "excludes user",
    "conditions.users.includeGroups": "includes group", "conditions.users.excludeGroups": "excludes group",
    "conditions.users.includeRoles": "includes role", "conditions.users.excludeRoles": "excludes role",
    "conditions.applications.includeApplications": "includes application",
    "conditions.applications.excludeApplications": "excludes application",
    "conditions.locations.includeLocations": "includes location",
    "conditions.locations.excludeLocations": "excludes location",
}
# Values of those lists that are keywords, not ids (conditionalaccessusers, conditionalaccessapplications).
CA_KEYWORDS = frozenset({"All", "None", "GuestsOrExternalUsers", "AllTrusted", "Office365", "MicrosoftAdminPortals"})

# A relationship as its source names it, and as its target names it.
_NAVIGATION_WORDS = {"members": ("member", "member of"), "owners": ("owner", "owner of"), "manager": ("manager", "manager of")}
RELATION_WORDS: dict[str, tuple[str, str]] = {
    kind: _NAVIGATION_WORDS.get(relation.navigation, (relation.navigation, f"{relation.navigation} of"))
    for kind, (_, relation) in objecttypes.RELATIONS.items()}
RELATION_WORDS["directory_role_member"] = ("member", "holds role")
RELATION_WORDS["au_member"] = ("member", "member of administrative unit")


class Production:
    """The live tenant as the other side of a comparison, read through `client` (a GraphClient)."""

    def __init__(self, client):
        self.client = client

    def __str__(self) -> str:
        return "production"


@dataclass(frozen=True)
class Ref:
    """A related object by name; `state` is its deletion state on the report's newer side ('unknown' when
    the restore points never saw it)."""

    object_type: str | None
    object_id: str
    name: str | None
    state: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"unknown {self.object_type or 'object'} ({self.object_id})"


@dataclass
class AttributeChange:
    name: str
    old: object
    new: object


@dataclass
class RelationChange:
    kind: str  # the repository's relation kind (group_member...), or ca:<property path>
    relationship: str  # how this object names it: "member", "member of", "excludes group"...
    other: Ref
    change: str  # added | removed
    outgoing: bool = True  # this object is the relation's source


@dataclass
class ObjectChange:
    object_type: str
    object_id: str
    name: str | None
    change: str  # created | deleted | restored | changed
    deleted: str | None = None  # the deletion state (soft, hard, missing) on the newer side of a deletion
    attributes: list[AttributeChange] = field(default_factory=list)
    relations: list[RelationChange] = field(default_factory=list)
    old: dict | None = field(default=None, repr=False)  # the data on each side (restore plans use them)
    new: dict | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.name or f"unnamed {self.object_type} ({self.object_id})"


@dataclass
class ChangeReport:
    tenant_key: str
    source: str  # "42" or "1:42"
    target: str  # a restore point, or "production"
    changes: list[ObjectChange]
    include_volatile: bool = False

    def filtered(self, *, types: Iterable[str] | None = None, changes: Iterable[str] | None = None) -> ChangeReport:
        """The same report limited to some object types and kinds of change."""
        wanted_types, wanted = set(types or ()), set(changes or ())
        kept = [c for c in self.changes if (not wanted_types or c.object_type in wanted_types)
                and (not wanted or c.change in wanted)]
        return replace(self, changes=kept)

    def counts(self) -> dict[str, dict[str, int]]:
        """type -> change kind -> objects."""
        counts: dict[str, dict[str, int]] = {}
        for change in self.changes:
            per_type = counts.setdefault(change.object_type, dict.fromkeys(CHANGE_KINDS, 0))
            per_type[change.change] += 1
        return counts

    def rows(self) -> Iterator[dict]:
        """One flat row per attribute or relationship that changed (and one for a created or deleted object
        without either): the CSV export and the report table."""
        for change in self.changes:
            base = {"type": change.object_type, "object_id": change.object_id, "object": change.label,
                    "change": change.change + (f" ({change.deleted})" if change.deleted else "")}
            if not change.attributes and not change.relations:
                yield {**base, "attribute": "", "old": "", "new": ""}
            for attr in change.attributes:
                yield {**base, "attribute": attr.name, "old": display(attr.old), "new": display(attr.new)}
            for rel in change.relations:
                value = rel.other.label + (f" [{rel.other.state}]" if rel.other.state else "")
                yield {**base, "attribute": rel.relationship,
                       "old": value if rel.change == REMOVED else "", "new": value if rel.change == ADDED else ""}

    def as_dict(self) -> dict:
        changes = []
        for change in self.changes:
            item = asdict(change)
            item.pop("old"), item.pop("new")
            item = {"type": item.pop("object_type"), **item}
            for rel in item["relations"]:
                rel["other"]["label"] = Ref(**rel["other"]).label
            changes.append(item)
        return {"tenant": self.tenant_key, "from": self.source, "to": self.target,
                "include_volatile": self.include_volatile, "counts": self.counts(), "changes": changes}


def display(value) -> str:
    """An attribute value as one line of text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# -- the engine -------------------------------------------------------------------------------------------------
def compare(store, tenant_key: str, from_point: int, to_point: int | Production, *, types: Iterable[str] | None = None,
            object_id: str | None = None, include_volatile: bool = False) -> ChangeReport:
    """What changed from restore point `from_point` to `to_point` (a restore point id or Production):
    created, deleted, restored and changed objects with their attribute and relationship differences.
    `types` limits the object types (their relationships come with them); `object_id` limits the report to
    one object and the relationships it is part of on either side."""
    types = _types(types)
    if isinstance(to_point, Production):
        diffs, relations = production_differences(store, tenant_key, from_point, to_point.client, types, object_id)
        names_at, target = from_point, "production"
    else:
        kinds = _kinds(types) if types is not None else None
        diffs, relations = store.differences(tenant_key, from_point, to_point, types=types, kinds=kinds,
                                             object_id=object_id)
        if object_id is not None and types is not None:
            diffs = [d for d in diffs if d.object_type in types]
        names_at, target = max(from_point, to_point), str(to_point)
    builder = _Builder(store, tenant_key, names_at, include_volatile)
    changes = builder.build(diffs, relations, object_id)
    return ChangeReport(tenant_key, str(from_point), target, changes, include_volatile)


def _types(types: Iterable[str] | None) -> list[str] | None:
    if types is None:
        return None
    names = list(dict.fromkeys(types))
    for name in names:
        objecttypes.get(name)  # ValueError naming the known types
    return names


def _kinds(types: list[str]) -> list[str]:
    return [kind for kind, (source, _) in objecttypes.RELATIONS.items() if source.name in types]


class _Builder:
    """Turns object and relationship differences into ObjectChanges with every related object named."""

    def __init__(self, store, tenant_key: str, names_at: int, include_volatile: bool):
        self.store, self.key, self.names_at, self.include_volatile = store, tenant_key, names_at, include_volatile

    def build(self, diffs: list[ObjectDiff], relations: list[RelationDiff], focus: str | None) -> list[ObjectChange]:
        by_key: dict[tuple[str, str], ObjectChange] = {}
        pending: list[tuple[ObjectChange, str, str, str, bool, str | None]] = []  # change, kind, word, other id, added
        for d in diffs:
            change = self._object_change(d)
            if change is None:
                continue
            by_key[(d.object_type, d.object_id)] = change
            pending += [(change, *ref) for ref in _ca_references(d)]
        for rel in relations:
            source_type = objecttypes.RELATIONS[rel.kind][0].name if rel.kind in objecttypes.RELATIONS else None
            outgoing = focus is None or rel.source_id == focus
            here_type, here_id = (source_type, rel.source_id) if outgoing else (rel.target_type, rel.target_id)
            change = by_key.get((here_type, here_id))
            if change is None:
                change = by_key[(here_type, here_id)] = ObjectChange(here_type, here_id, None, CHANGED)
            word = RELATION_WORDS.get(rel.kind, (rel.kind, rel.kind))[0 if outgoing else 1]
            other = rel.target_id if outgoing else rel.source_id
            pending.append((change, rel.kind, word, other, rel.added, rel.target_type if outgoing else source_type, outgoing))
        self._name(by_key, pending)
        return sorted(by_key.values(), key=_order)

    def _object_change(self, d: ObjectDiff) -> ObjectChange | None:
        old, new = _live(d.old), _live(d.new)
        if old is None and new is None:
            return None  # deleted on both sides (soft then hard): nothing to restore differently
        name = _name_of(d.object_type, (new or old or Side(None, None, None, None)).data) or (d.new or d.old).display_name
        if old is None:
            kind = RESTORED if d.old is not None and d.old.deleted == "soft" else CREATED  # back from the recycle bin
            return ObjectChange(d.object_type, d.object_id, name, kind, old=None, new=new.data)
        if new is None:
            state = d.new.deleted if d.new is not None else "missing"
            return ObjectChange(d.object_type, d.object_id, name, DELETED, state, old=old.data, new=None)
        attributes = attribute_changes(old.data, new.data, d.object_type, self.include_volatile)
        if not attributes and not _ca_references(d):
            return None  # only noise changed
        return ObjectChange(d.object_type, d.object_id, name, CHANGED, attributes=attributes, old=old.data, new=new.data)

    def _name(self, by_key: dict, pending: list) -> None:
        """Name every related object: from the report's own data first, then from the restore points."""
        known = {c.object_id: (c.object_type, c.name, c.deleted) for c in by_key.values()}
        wanted = {other for _, _, _, other, *_ in pending if other not in known}
        wanted |= {c.object_id for c in by_key.values() if not c.name}
        wanted |= {i for c in by_key.values() for i in _assignment_ids(c.object_type, c.new or c.old or {})}
        found = self.store.names(self.key, sorted(wanted), self.names_at) if wanted else {}

        def ref(object_id: str, object_type: str | None) -> Ref:
            if object_id in CA_KEYWORDS:
                return Ref(None, object_id, object_id)
            if object_id in found:
                otype, name, upn, app_id, state = found[object_id]
                return Ref(otype, object_id, _with_upn(name, upn) or app_id, state)
            if object_id in known:
                return Ref(*known[object_id][:1], object_id, *known[object_id][1:])
            return Ref(object_type, object_id, None, "unknown")

        for change in by_key.values():
            if not change.name:
                change.name = _derived_name(change, ref) or (ref(change.object_id, change.object_type).name)
        for change, kind, word, other, added, other_type, *outgoing in pending:
            change.relations.append(RelationChange(kind, word, ref(other, other_type), ADDED if added else REMOVED,
                                                   outgoing[0] if outgoing else True))
        for change in by_key.values():
            change.relations.sort(key=lambda r: (r.relationship, r.change, r.other.label.lower()))


def _order(change: ObjectChange) -> tuple:
    position = objecttypes.NAMES.index(change.object_type) if change.object_type in objecttypes.BY_NAME else 99
    return position, (change.name or "").lower(), change.object_id


def _live(side: Side | None) -> Side | None:
    return side if side is not None and not side.deleted else None


def _with_upn(name: str | None, upn: str | None) -> str | None:
    if name and upn and upn.lower() != name.lower():
        return f"{name} ({upn})"
    return name or upn


def _name_of(object_type: str, data: dict | None) -> str | None:
    if not data:
        return None
    spec = objecttypes.BY_NAME.get(object_type)
    value = data.get(spec.display if spec else "displayName")
    if object_type == "user":
        return _with_upn(value, data.get("userPrincipalName"))
    if object_type == "appRoleAssignment" and data.get("principalDisplayName"):
        return f"{data['principalDisplayName']} → {data.get('resourceDisplayName') or data.get('resourceId')}"
    return value if isinstance(value, str) and value else None


def _assignment_ids(object_type: str, data: dict) -> list[str]:
    if object_type == "roleAssignment":
        return [i for i in (data.get("principalId"), data.get("roleDefinitionId")) if i]
    if object_type == "oauth2PermissionGrant":
        return [i for i in (data.get("clientId"), data.get("resourceId")) if i]
    return []


def _derived_name(change: ObjectChange, ref) -> str | None:
    """Objects without a name of their own are named by what they join: "Global Administrator → Alice"."""
    data = change.new or change.old or {}
    if change.object_type == "roleAssignment" and data.get("principalId"):
        role = ref(data.get("roleDefinitionId", ""), "roleDefinition").label
        scope = data.get("directoryScopeId")
        return f"{role} → {ref(data['principalId'], None).label}" + (f" (scope {scope})" if scope not in (None, "/") else "")
    if change.object_type == "oauth2PermissionGrant" and data.get("clientId"):
        return f"{ref(data['clientId'], 'servicePrincipal').label} → {ref(data.get('resourceId', ''), 'servicePrincipal').label}: {data.get('scope') or ''}".strip()
    return None


# -- attributes -----------------------------------------------------------------------------------------------
def attribute_changes(old: dict | None, new: dict | None, object_type: str,
                      include_volatile: bool = False) -> list[AttributeChange]:
    """The attributes that differ, nested objects as dotted paths (conditions.users.excludeGroups), null and
    missing equal; volatile properties and write stamps left out unless `include_volatile`. Conditional
    Access references are relationships (see CA_REFERENCES), not attributes."""
    skip = frozenset() if include_volatile else volatile(object_type) | WRITE_STAMPS
    a, b = _flat(old or {}, skip), _flat(new or {}, skip)
    references = CA_REFERENCES if object_type == "conditionalAccessPolicy" else {}
    return [AttributeChange(path, a.get(path), b.get(path)) for path in sorted(a.keys() | b.keys())
            if a.get(path) != b.get(path) and path not in references]


def _flat(data: dict, skip: frozenset, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if value is None or (not prefix and key in skip) or key.endswith("@odata.context"):
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, skip, path + "."))
        elif value not in ({}, []):
            flat[path] = value
    return flat


def _ca_references(d: ObjectDiff) -> list[tuple]:
    if d.object_type != "conditionalAccessPolicy":
        return []
    return ca_reference_changes((_live(d.old) or Side(None, None, {}, None)).data,
                                (_live(d.new) or Side(None, None, {}, None)).data)


def ca_reference_changes(old: dict | None, new: dict | None) -> list[tuple]:
    """(kind, word, other id, added, other type) for the references a Conditional Access policy gained or lost."""
    old, new = _flat(old or {}, frozenset()), _flat(new or {}, frozenset())
    found = []
    for path, word in CA_REFERENCES.items():
        before, after = set(old.get(path) or ()), set(new.get(path) or ())
        other_type = {"user": "user", "group": "group", "role": "roleDefinition", "location": "namedLocation",
                      "application": "servicePrincipal"}[word.split()[-1]]
        found += [(f"ca:{path}", word, i, True, other_type) for i in sorted(after - before)]
        found += [(f"ca:{path}", word, i, False, other_type) for i in sorted(before - after)]
    return found


# -- export -----------------------------------------------------------------------------------------------------
CSV_COLUMNS = ("type", "object_id", "object", "change", "attribute", "old", "new")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def report_csv(report: ChangeReport, handle) -> int:
    """Write the report's rows as CSV to a text handle; returns the rows written. Cells a spreadsheet would
    run as a formula (tenant data is hostile) are prefixed with a quote."""
    writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in report.rows():
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA) else value


def report_json(report: ChangeReport) -> bytes:
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
