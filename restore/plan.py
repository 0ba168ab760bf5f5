"""Restore plans: the exact Graph writes that put chosen objects back as they were at a restore point.

Plain Python on the repository store and production as the compare engine reads it (restore/production.py);
no Django.
A plan is a JSON document (``PLAN_FORMAT``) with:

- ``steps``: the writes, in dependency order (``wave``: a step runs after every step of lower waves; named
  locations, users, groups before what references them; re-created objects before every reference to them),
  each with its request (``method``, ``url``, ``body``), ``before`` and ``after`` values, and ``refs`` (the
  old ids it names: an object re-created by the plan gets a new id, and the applier substitutes it);
- ``skipped``: every attribute or relationship that will not be written, and why (read-only, synced from
  on-premises, not restorable, ...);
- ``created_after``: objects that did not exist at the restore point, and whether the plan soft-deletes them;
- ``requests``: the writes, the reads the apply makes to write relationships idempotently, and the
  ``$batch`` requests that carry them (20 sub-requests each);
- ``checks``: production's state of every object the plan touches, as the plan saw it; the apply reads
  production again and stops when one changed.

How each type and relationship is written is declared in the object type registry (``Writeback``).
Relationship steps (``op: link``) say which targets to add and remove; the apply reads the source's current
targets first and writes only the difference, so a resumed or repeated apply writes nothing twice, and
members that came back with a recycle-bin restore are not added again.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from entrabackup import objecttypes
from entrabackup.graph import select_for
from repositories.store.canonical import content_hash, volatile
from restore.production import production_differences

PLAN_FORMAT = "entrabackup-restore-plan/1"
MERGE, OVERWRITE, SKIP = "merge", "overwrite", "skip"
CA_KEEP, CA_REPORT_ONLY, CA_DISABLED = "keep", "report-only", "disabled"
CA_STATES = {CA_REPORT_ONLY: "enabledForReportingButNotEnforced", CA_DISABLED: "disabled"}
PASSWORD_SLOT = "{{password}}"  # noqa: S105 - a placeholder: the applier puts the new user's password here; a plan never holds one
BATCH = 20  # sub-requests per $batch (https://learn.microsoft.com/graph/json-batching)
BIND_MAX = 20  # members@odata.bind per PATCH (https://learn.microsoft.com/graph/api/group-post-members)
RESTORE_URL = "/directory/deletedItems/{id}/restore"  # https://learn.microsoft.com/graph/api/directory-deleteditems-restore

WRITABLE_TYPES = [t.name for t in objecttypes.TYPES if t.writeback.restore]
# Named locations are read after Conditional Access policies but restored before them.
_ORDER = {name: i for i, name in enumerate(sorted(WRITABLE_TYPES, key=lambda n: (
    n == "conditionalAccessPolicy", objecttypes.NAMES.index(n))))}
_OP_ORDER = {"restore": 0, "update": 1, "create": 1, "link": 2, "manager": 2, "remove_password": 3, "delete": 4}


class PlanError(ValueError):
    """The selection or the options cannot make a plan; the message says which and why."""


@dataclass(frozen=True)
class Selection:
    """What to restore. ``everything``: the whole tenant (every writable type); ``types``: whole types; ``ids``:
    objects by id (any type); ``attributes``: only these attributes of the chosen objects (None: all);
    ``pairs``: only these relationships, as (kind, source id, target id) (None: all of the chosen objects')."""

    everything: bool = False
    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    attributes: frozenset[str] | None = None
    pairs: frozenset[tuple[str, str, str]] | None = None
    objects_too: bool = True  # False: only the relationships in ``pairs`` (an audited membership change)
    # (object id, attribute) -> the value to put back instead of the restore point's (an audit record's
    # oldValue: the value right before the audited change)
    values: dict[tuple[str, str], object] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    relations: str = MERGE
    ca_state: str = CA_KEEP
    password: dict = field(default_factory=lambda: {"mode": "generate"})  # or {"mode": "file", "sealed": ...}


@dataclass
class State:
    """One side of the comparison: objects per type, relation pairs per kind, the recycle bin per type."""

    objects: dict[str, dict[str, dict]]
    relations: dict[str, set[tuple[str, str]]]
    recycle_bin: dict[str, set[str]] = field(default_factory=dict)

    def find(self, object_id: str) -> tuple[str, dict] | None:
        for object_type, table in self.objects.items():
            if object_id in table:
                return object_type, table[object_id]
        return None


def restore_point_state(store, tenant_key: str, restore_point: int, types: Iterable[str]) -> State:
    """The writable types and their relationships as of the restore point (repositories/store/reader.py)."""
    types = list(types)
    objects = {t: {o["id"]: o for o in store.iter_objects(tenant_key, restore_point, t)} for t in types}
    relations = {kind: {(r.source_id, r.target_id) for r in store.iter_relations(tenant_key, restore_point, kind)}
                 for kind, (source, _) in objecttypes.RELATIONS.items() if source.name in types}
    return State(objects, relations)


def production_state(store, tenant_key: str, restore_point: int, client, then: State) -> State:
    """Production now, from the compare engine (restore/production.py: the backup collectors read every
    writable type in full and keep what differs from the restore point): the restore point's state with
    production's differences applied, and the recycle bin of the objects deleted since."""
    diffs, relations = production_differences(store, tenant_key, restore_point, client, WRITABLE_TYPES, None)
    objects = {object_type: dict(table) for object_type, table in then.objects.items()}
    recycle_bin: dict[str, set[str]] = {}
    for diff in diffs:
        table = objects.setdefault(diff.object_type, {})
        if diff.new is not None and diff.new.data is not None:
            table[diff.object_id] = diff.new.data
            continue
        table.pop(diff.object_id, None)
        if diff.new is not None and diff.new.deleted == "soft":
            recycle_bin.setdefault(diff.object_type, set()).add(diff.object_id)
    pairs = {kind: set(found) for kind, found in then.relations.items()}
    for change in relations:
        kind = pairs.setdefault(change.kind, set())
        if change.added:
            kind.add((change.source_id, change.target_id))
        else:
            kind.discard((change.source_id, change.target_id))
    return State(objects, pairs, recycle_bin)


def state_digest(state: State, key: str) -> str:
    """What a plan's ``checks`` hold for ``key`` ("<type>/<id>" or "<relation kind>/<source id>")."""
    kind, object_id = key.split("/", 1)
    if kind in objecttypes.RELATIONS:
        return pairs_digest(t for s, t in state.relations.get(kind, ()) if s == object_id)
    obj = state.objects.get(kind, {}).get(object_id)
    if obj is not None:
        return content_hash(obj, kind).hex()
    return "recycle-bin" if object_id in state.recycle_bin.get(kind, ()) else "absent"


def writable_attributes(object_type: str) -> frozenset[str]:
    spec = objecttypes.get(object_type)
    wb = spec.writeback
    every = set(select_for(spec.graph_type))
    return frozenset(every - wb.read_only - set(wb.not_restorable) - volatile(object_type))


def why_not_written(object_type: str, attribute: str, obj: dict) -> str | None:
    """The reason an attribute is never written back to this object (None: it is written)."""
    wb = objecttypes.get(object_type).writeback
    if attribute in wb.read_only or attribute in volatile(object_type):
        return objecttypes.READ_ONLY
    if attribute in wb.not_restorable:
        return f"{objecttypes.NOT_RESTORABLE}: {wb.not_restorable[attribute]}"
    if obj.get("onPremisesSyncEnabled") and attribute in wb.synced:
        return objecttypes.SYNCED
    return None


class Planner:
    """Builds one plan; see the module docstring for what it holds."""

    def __init__(self, rp: State, production: State, selection: Selection, options: Options, *,
                 last_known: dict[tuple[str, str], dict] | None = None):
        if options.relations not in (MERGE, OVERWRITE, SKIP):
            raise PlanError("--relations is merge, overwrite or skip.")
        self.rp, self.prod, self.sel, self.opt = rp, production, selection, options
        self.last_known = last_known or {}  # (type, id) -> the last backed-up state of a deleted object
        self.steps: list[dict] = []
        self.skipped: list[dict] = []
        self.created_after: list[dict] = []
        self.recreated: dict[str, str] = {}  # old id -> the step re-creating it
        self.restored: dict[str, str] = {}  # id -> the recycle-bin restore step
        self.deleting: set[str] = set()
        self.checks: dict[str, str] = {}
        self.names: dict[str, str] = {}

    # -- selection ------------------------------------------------------------------------------------------
    def chosen(self) -> list[tuple[str, str]]:
        """(type, id) of every chosen object, at the restore point or in production."""
        sel = self.sel
        if sel.everything or sel.types:
            types = WRITABLE_TYPES if sel.everything else sel.types
            out = []
            for t in types:
                ids = set(self.rp.objects.get(t, {})) | set(self.prod.objects.get(t, {}))
                out += [(t, i) for i in sorted(ids)]
            return out
        out = []
        for object_id in sel.ids:
            hit = self.rp.find(object_id) or self.prod.find(object_id)
            if hit is None:
                raise PlanError(f"No object {object_id} at the restore point or in production.")
            out.append((hit[0], object_id))
        return out

    def build(self) -> dict:
        chosen = self.chosen() if self.sel.objects_too else []
        for object_type, object_id in sorted(chosen, key=lambda c: _ORDER.get(c[0], 99)):
            self._object(object_type, object_id)
        if self.opt.relations != SKIP:
            self._relations({i for _, i in chosen})
        return self._finish()

    # -- objects --------------------------------------------------------------------------------------------
    def _object(self, object_type: str, object_id: str) -> None:
        then = self.rp.objects.get(object_type, {}).get(object_id)
        if then is not None and self.sel.values:
            then = {**then, **{attr: _shaped(value, then.get(attr)) for (oid, attr), value in self.sel.values.items()
                               if oid == object_id and attr in then}}
        now = self.prod.objects.get(object_type, {}).get(object_id)
        name = _name(object_type, then or now or {})
        self.names[object_id] = name
        if object_type not in WRITABLE_TYPES:
            return self._skip(object_type, object_id, name, None, f"{objecttypes.LABELS[object_type]} are not written "
                              "back by the restore feature")
        if then is None and now is not None:
            return self._created_after(object_type, object_id, now, name)
        if then is None:
            return None
        if now is not None:
            self._check(object_type, object_id, now)
            return self._update(object_type, object_id, then, now, name)
        if object_id in self.prod.recycle_bin.get(object_type, ()):
            self.checks[f"{object_type}/{object_id}"] = "recycle-bin"
            return self._restore(object_type, object_id, then, name)
        self.checks[f"{object_type}/{object_id}"] = "absent"
        return self._create(object_type, object_id, then, name)

    def _update(self, object_type, object_id, then, now, name, after_step: str | None = None) -> None:
        body, before, after = {}, {}, {}
        wb = objecttypes.get(object_type).writeback
        for key in sorted(set(then) | set(now)):
            if "@" in key or _same(then.get(key), now.get(key)):
                continue
            if self.sel.attributes is not None and key not in self.sel.attributes:
                continue
            if key == "passwordCredentials" and object_type in ("application", "servicePrincipal"):
                self._credentials(object_type, object_id, name, then.get(key) or [], now.get(key) or [])
                continue
            reason = why_not_written(object_type, key, then)
            if reason is None and key in wb.create_only:
                reason = "set only when the object is created"
            if reason:
                self._skip(object_type, object_id, name, key, reason, then.get(key), now.get(key))
                continue
            body[key], before[key], after[key] = then.get(key), now.get(key), then.get(key)
        stale = self._stale_references(wb, then)
        if set(stale) & wb.create_only and after_step is None:  # e.g. a grant to a re-created user: grant anew
            path = wb.item_path.format(id=object_id, **{k: now.get(k) for k in ("resourceId",)})
            self._add(object_type, object_id, name, "delete", "DELETE", path, None,
                      {"names": "an object this plan re-creates"}, {"deleted": "granted again to the new id"})
            return self._create(object_type, object_id, then, name)
        for key in stale:  # equal ids, but the objects they name are re-created
            if key not in body and (self.sel.attributes is None or key in self.sel.attributes):
                body[key], before[key], after[key] = then.get(key), now.get(key), then.get(key)
        if object_type == "conditionalAccessPolicy":
            self._ca_state(body, before, after, now.get("state"))
        if not body:
            return
        path = wb.item_path.format(id=object_id, **{k: then.get(k) for k in ("resourceId",)})
        # After a recycle-bin restore: the next wave. A $batch is fully parallel or fully sequential (a mix
        # answers 400), and a sequential one fails every request after a failed one (424).
        self._add(object_type, object_id, name, "update", "PATCH", path, body, before, after,
                  depends=[after_step] if after_step else [])

    def _credentials(self, object_type: str, object_id: str, name: str, then: list, now: list) -> None:
        """Secrets added since are removed (removePassword); a removed one cannot come back: Graph never
        returned it (https://learn.microsoft.com/graph/api/application-removepassword)."""
        kept = {c.get("keyId") for c in then}
        path = objecttypes.get(object_type).writeback.item_path.format(id=object_id)
        for cred in now:
            if cred.get("keyId") not in kept:
                self._add(object_type, object_id, name, "remove_password", "POST", f"{path}/removePassword",
                          {"keyId": cred["keyId"]}, {"passwordCredential": cred.get("displayName") or cred["keyId"]},
                          {"passwordCredential": "removed"}, refs=[])
        present = {c.get("keyId") for c in now}
        for cred in then:
            if cred.get("keyId") not in present:
                self._skip(object_type, object_id, name, "passwordCredentials", f"{objecttypes.NOT_RESTORABLE}: "
                           "a deleted secret cannot be put back (Graph never returns one); add a new one",
                           cred.get("keyId"), None)

    def _stale_references(self, wb, then: dict) -> list[str]:
        """Top-level attributes holding ids of objects this plan re-creates (a CA policy's include lists)."""
        keys = []
        for path in wb.references:
            value = then
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            ids = value if isinstance(value, list) else [value]
            if any(isinstance(i, str) and i in self.recreated for i in ids):
                keys.append(path.split(".")[0])
        return list(dict.fromkeys(keys))

    def _ca_state(self, body: dict, before: dict, after: dict, current: str | None) -> None:
        if self.opt.ca_state == CA_KEEP:
            return
        state = CA_STATES[self.opt.ca_state]
        if state != current:
            body["state"], before["state"], after["state"] = state, current, state
        elif "state" in body:
            del body["state"], before["state"], after["state"]

    def _restore(self, object_type: str, object_id: str, then: dict, name: str) -> None:
        step = self._add(object_type, object_id, name, "restore", "POST", RESTORE_URL.format(id=object_id), None,
                         {"deleted": "in the recycle bin"}, {"restored": "same id"})
        self.restored[object_id] = step
        last = self.last_known.get((object_type, object_id))
        if last is not None:  # the recycle bin gives back the last state: put back what changed before that
            self._update(object_type, object_id, then, last, name, after_step=step)

    def _create(self, object_type: str, object_id: str, then: dict, name: str) -> None:
        wb = objecttypes.get(object_type).writeback
        if wb.create_path is None:
            return self._skip(object_type, object_id, name, None, f"{objecttypes.NOT_RESTORABLE}: "
                              f"{objecttypes.LABELS[object_type]} cannot be created through Graph")
        if then.get("isBuiltIn"):
            return self._skip(object_type, object_id, name, None, f"{objecttypes.NOT_RESTORABLE}: built in")
        if object_type == "user" and then.get("onPremisesSyncEnabled"):
            return self._skip(object_type, object_id, name, None, f"{objecttypes.SYNCED}: Entra Connect creates it")
        body = {}
        for key, value in sorted(then.items()):
            if value is None or ("@" in key and key != "@odata.type"):
                continue
            reason = None if key == "@odata.type" else why_not_written(object_type, key, {})
            if reason:
                self._skip(object_type, object_id, name, key, reason, value, None)
            else:
                body[key] = value
        if object_type != "namedLocation":
            body.pop("@odata.type", None)
        if object_type == "user":
            body["passwordProfile"] = {"forceChangePasswordNextSignIn": True, "password": PASSWORD_SLOT}
        if object_type == "conditionalAccessPolicy":
            self._ca_state(body, {}, {}, body.get("state"))
        path = wb.create_path.format(**{k: then.get(k) for k in ("resourceId",)})
        after = {k: v for k, v in body.items() if k != "passwordProfile"}
        step = self._add(object_type, object_id, name, "create", "POST", path, body, None, after)
        self.recreated[object_id] = step
        if then.get("appId") and object_type == "application":
            self.recreated[then["appId"]] = step  # a service principal names its application by appId

    def _created_after(self, object_type: str, object_id: str, now: dict, name: str) -> None:
        wb = objecttypes.get(object_type).writeback
        entry = {"type": object_type, "id": object_id, "name": name, "deleted": False}
        self.created_after.append(entry)
        if object_type == "group" and "Unified" not in (now.get("groupTypes") or []):
            entry["reason"] = ("a security group has no recycle bin: deleting it would be permanent, and a restore "
                               "only soft-deletes; delete it by hand if it must go")
            return
        if wb.item_path is None:
            entry["reason"] = f"{objecttypes.LABELS[object_type]} cannot be deleted through Graph"
            return
        self._check(object_type, object_id, now)
        entry["deleted"] = True
        self.deleting.add(object_id)
        path = wb.item_path.format(id=object_id, **{k: now.get(k) for k in ("resourceId",)})
        self._add(object_type, object_id, name, "delete", "DELETE", path, None,
                  {"exists": "created after the restore point"}, {"deleted": _deleted_how(object_type)})
        if object_type == "application":
            self.deleting.add(now.get("appId", ""))

    # -- relationships ------------------------------------------------------------------------------------
    def _relations(self, chosen: set[str]) -> None:
        for kind, (source_type, _relation) in objecttypes.RELATIONS.items():
            link = source_type.writeback.links.get(kind)
            if link is None or not self._kind_in_scope(source_type.name):
                continue
            then, now = self.rp.relations.get(kind, set()), self.prod.relations.get(kind, set())
            wanted = {p for p in then if self._pair_in_scope(kind, p, chosen)}
            present = {p for p in now if self._pair_in_scope(kind, p, chosen)}
            adds = defaultdict(list)
            for source, target in sorted(wanted - now):
                if self._reachable(kind, source, target):
                    adds[source].append(target)
            removes = defaultdict(list)
            if self.opt.relations == OVERWRITE or self.sel.pairs is not None:  # named pairs are put back exactly
                for source, target in sorted(present - then):
                    if source not in self.deleting and target not in self.deleting:
                        removes[source].append(target)
            for source in sorted(set(adds) | set(removes)):
                self._link(kind, source_type.name, link, source, adds.get(source, []), removes.get(source, []))

    def _kind_in_scope(self, source_type: str) -> bool:
        sel = self.sel
        return sel.everything or bool(sel.ids) or source_type in sel.types or sel.pairs is not None

    def _pair_in_scope(self, kind: str, pair: tuple[str, str], chosen: set[str]) -> bool:
        if self.sel.pairs is not None:
            return (kind, *pair) in self.sel.pairs
        if self.sel.everything:
            return True
        return pair[0] in chosen or pair[1] in chosen

    def _reachable(self, kind: str, source: str, target: str) -> bool:
        """Both ends exist after the plan: live now, restored or re-created by it."""
        for end in (source, target):
            if end in self.restored or end in self.recreated or self.prod.find(end) is not None:
                continue
            self._skip(kind, source, self.names.get(source, source), target,
                       f"{end} is not in production and this plan does not restore it", "present", "absent")
            return False
        return True

    def _link(self, kind: str, source_type: str, link, source: str, add: list[str], remove: list[str]) -> None:
        now = self.prod.objects.get(source_type, {}).get(source) or {}
        then = self.rp.objects.get(source_type, {}).get(source) or now
        name = self.names.setdefault(source, _name(source_type, then))
        if kind == "group_member" and (then.get("membershipRule") or "DynamicMembership" in (then.get("groupTypes") or [])):
            return self._skip(kind, source, name, "members", "dynamic membership: the group's rule sets its members",
                              {"missing_now": add}, {"added_since": remove})
        if kind == "group_member" and then.get("onPremisesSyncEnabled"):
            return self._skip(kind, source, name, "members", objecttypes.SYNCED, {"missing_now": add},
                              {"added_since": remove})
        for target in add + remove:
            hit = self.rp.find(target) or self.prod.find(target)
            self.names.setdefault(target, _name(hit[0], hit[1]) if hit else target)
        self.checks[f"{kind}/{source}"] = pairs_digest(t for s, t in self.prod.relations.get(kind, ()) if s == source)
        base = link.path.format(id=source)
        if link.how == objecttypes.SINGLE:
            method, url = ("PUT", f"{base}/$ref") if add else ("DELETE", f"{base}/$ref")
            body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{add[0]}"} if add else None
            self._add(kind, source, name, "manager", method, url, body, {"manager": remove[:1] or None},
                      {"manager": add[:1] or None}, refs=[source, *add])
            return None
        writes = (math.ceil(len(add) / BIND_MAX) if link.how == objecttypes.BIND else len(add)) + len(remove)
        step = self._add(kind, source, name, "link", None, base, None, {"remove": remove}, {"add": add},
                         refs=[source, *add], writes=writes)
        # Targets restored from the recycle bin come back with their relationships: the apply reads first.
        verify = bool({source, *add, *remove} & set(self.restored))
        self.steps[-1].update(kind=kind, how=link.how, add=add, remove=remove, verify=verify)
        return step

    # -- plumbing -------------------------------------------------------------------------------------------
    def _add(self, object_type, object_id, name, op, method, url, body, before, after, *, depends=(),
             same_batch=False, refs=None, writes=1) -> str:
        step_id = f"s{len(self.steps) + 1}"
        self.steps.append({"id": step_id, "op": op, "type": object_type, "object_id": object_id, "name": name,
                           "method": method, "url": url, "body": body, "before": before, "after": after,
                           "depends_on": list(depends), "same_batch": same_batch,
                           "refs": sorted(set(refs if refs is not None else _ids_in(body))), "writes": writes})
        return step_id

    def _skip(self, object_type, object_id, name, attribute, reason, then=None, now=None) -> None:
        self.skipped.append({"type": object_type, "object_id": object_id, "name": name, "attribute": attribute,
                             "reason": reason, "restore_point_value": then, "production_value": now})

    def _check(self, object_type: str, object_id: str, now: dict) -> None:
        self.checks[f"{object_type}/{object_id}"] = content_hash(now, object_type).hex()

    def _finish(self) -> dict:
        for step in self.steps:
            deps = set(step["depends_on"])
            for ref in step["refs"]:
                if ref != step["object_id"] or step["op"] != "create":
                    for table in (self.recreated, self.restored):
                        if ref in table and table[ref] != step["id"]:
                            deps.add(table[ref])
            step["depends_on"] = sorted(deps, key=lambda s: int(s[1:]))
        _assign_waves(self.steps)
        self.steps.sort(key=lambda s: (s["wave"], _ORDER.get(s["type"], 50), _OP_ORDER[s["op"]], int(s["id"][1:])))
        return {"steps": self.steps, "skipped": self.skipped, "created_after": self.created_after,
                "checks": self.checks, "names": self.names, "requests": request_counts(self.steps)}


def _assign_waves(steps: list[dict]) -> None:
    by_id = {s["id"]: s for s in steps}
    for step in sorted(steps, key=lambda s: int(s["id"][1:])):  # dependencies always have lower numbers
        step["wave"] = max((by_id[d]["wave"] + (0 if step["same_batch"] else 1) for d in step["depends_on"]),
                           default=0)


def request_counts(steps: list[dict]) -> dict:
    """Writes, the reads relationship steps make first, and the $batch requests carrying them, per wave."""
    writes = sum(s["writes"] for s in steps)
    reads = sum(1 for s in steps if s["op"] == "link" and s.get("verify"))
    batches = 0
    for wave in {s["wave"] for s in steps}:
        in_wave = [s for s in steps if s["wave"] == wave]
        batches += math.ceil(sum(s["writes"] for s in in_wave) / BATCH)
        batches += math.ceil(sum(1 for s in in_wave if s["op"] == "link" and s.get("verify")) / BATCH)
    return {"writes": writes, "reads": reads, "batches": batches,
            "least_batches": math.ceil(writes / BATCH)}


def plan_document(*, tenant: dict, restore_point: dict, selection: Selection, options: Options, body: dict,
                  audit_records: list[str] | None = None) -> dict:
    """The whole plan: what was chosen, how, and the planner's ``body``; ``plan_id`` identifies its content."""
    doc = {"format": PLAN_FORMAT, "tenant": tenant, "restore_point": restore_point,
           "created_at": datetime.now(UTC).isoformat(),
           "selection": {"all": selection.everything, "types": list(selection.types), "ids": list(selection.ids),
                         "attributes": sorted(selection.attributes) if selection.attributes is not None else None,
                         "audit_ids": audit_records or []},
           "options": {"relations": options.relations, "ca_state": options.ca_state, "password": options.password},
           **body}
    doc["plan_id"] = plan_digest(doc)
    return doc


def plan_digest(doc: dict) -> str:
    """What identifies a plan: its tenant, restore point and writes (a resumed apply recognises its plan)."""
    core = {k: doc.get(k) for k in ("tenant", "restore_point", "steps", "options")}
    return hashlib.sha256(orjson.dumps(core, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _deleted_how(object_type: str) -> str:
    spec = objecttypes.get(object_type)
    if spec.soft_deletable:
        return "soft-deleted: in the recycle bin for 30 days"
    if object_type in ("conditionalAccessPolicy", "namedLocation"):
        return "soft-deleted: in Conditional Access's deleted items"
    return "removed (an assignment or grant, which has no recycle bin)"


def _name(object_type: str, obj: dict) -> str:
    display = objecttypes.BY_NAME[object_type].display if object_type in objecttypes.BY_NAME else "displayName"
    value = obj.get(display) or obj.get("displayName") or obj.get("principalDisplayName")
    return str(value) if value else str(obj.get("id", ""))


def _shaped(value, like):
    """An audit record's value (a list, as modifiedProperties encode every value) shaped like the attribute."""
    if isinstance(value, list) and not isinstance(like, list) and len(value) == 1:
        return value[0]
    return value


def _same(a, b) -> bool:
    return (a in (None, [], {}) and b in (None, [], {})) or a == b


def _ids_in(body) -> list[str]:
    """Strings that look like object ids (GUIDs) anywhere in a request body: candidates for remapping."""
    found = []
    if isinstance(body, dict):
        for value in body.values():
            found += _ids_in(value)
    elif isinstance(body, list):
        for value in body:
            found += _ids_in(value)
    elif isinstance(body, str) and len(body) == 36 and body.count("-") == 4:
        found.append(body)
    return found


def pairs_digest(targets: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(targets)).encode()).hexdigest()[:32]


def remap(value, id_map: dict[str, str]):
    """``value`` with every old id of a re-created object replaced by its new id (strings equal to an id, and
    path segments of a URL)."""
    if isinstance(value, dict):
        return {k: remap(v, id_map) for k, v in value.items()}
    if isinstance(value, list):
        return [remap(v, id_map) for v in value]
    if isinstance(value, str):
        if value in id_map:
            return id_map[value]
        if "/" in value:
            return "/".join(id_map.get(part, part) for part in value.split("/"))
    return value
