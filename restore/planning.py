"""Making restore plans for a registered tenant: the restore point from its repositories, production through
Graph, the planner in restore/plan.py. Also the plans that revert directory audit records.

Entry points: ``plan_build`` (the command ``restore_plan`` and the plan page) and ``plan_from_audit`` (the log
explorer's "revert selected records" and ``restore_plan --audit-ids``).
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from datetime import datetime

from django.views.decorators.debug import sensitive_variables

from audittrail import trail
from audittrail.models import Entry
from entrabackup import objecttypes, vault
from jobs.logbackup.types import parse_time
from jobs.selectors import log_records_with_ids
from repositories.log_services import log_repository_open
from repositories.models import LogRepository
from restore import plan as planner
from restore.errors import RestoreError
from restore.selectors import PointSpec, tenant_backups
from tenants.services import tenant_graph_client

logger = logging.getLogger(__name__)
PASSWORD_PURPOSE = "restore.password"  # noqa: S105 - a vault purpose, not a password: purpose of a password given with --password-file
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"


class PlanInputError(RestoreError):
    """A selection or option that cannot make a plan (the message says which)."""


def password_generate(length: int = 20) -> str:
    """A password Entra's complexity rules accept: upper, lower, digit and symbol, from the OS's CSPRNG."""
    while True:
        value = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
                and any(not c.isalnum() for c in value)):
            return value


@sensitive_variables("text")
def password_option(tenant, *, mode: str, text: str | None = None) -> dict:
    """The plan's password option: generated at apply time, or the given one sealed for this tenant."""
    if mode == "generate":
        return {"mode": "generate"}
    if not text or not text.strip() or len(text.strip()) < 8:
        raise PlanInputError("The password file must hold a password of at least 8 characters on its first line.")
    return {"mode": "file", "sealed": vault.seal(text.strip(), purpose=PASSWORD_PURPOSE, binding=str(tenant.key))}


def plan_build(*, tenant, restore_point: PointSpec, selection: planner.Selection, options: planner.Options,
               audit_records: list[str] | None = None) -> dict:
    """The plan that puts the selection back as it was at the restore point (restore/plan.py)."""
    _validate(selection)
    with tenant_backups(tenant) as backups:
        ref = backups.find(restore_point)
        latest = backups.restore_points()[0]
        with backups.reading(ref.repository) as store:
            then = planner.restore_point_state(store, str(tenant.key), ref.restore_point.id, planner.WRITABLE_TYPES)
            with tenant_graph_client(tenant) as client:
                now = planner.production_state(store, str(tenant.key), ref.restore_point.id, client, then)
            last = _last_known(backups, latest, then, now, tenant) if latest.restore_point.id != ref.restore_point.id else {}
    try:
        body = planner.Planner(then, now, selection, options, last_known=last).build()
    except planner.PlanError as exc:
        trail.record("restore.plan", target=f"restore point {ref.restore_point.id}", tenant=tenant,
               result=Entry.Result.FAILED, detail={"error": str(exc)})
        raise PlanInputError(str(exc)) from None
    rp = ref.restore_point
    doc = planner.plan_document(
        tenant={"key": str(tenant.key), "name": tenant.name, "directory_id": tenant.directory_id},
        restore_point={"repository": ref.repository.pk, "id": rp.id, "committed_at": rp.committed_at.isoformat()},
        selection=selection, options=options, body=body, audit_records=audit_records)
    trail.record("restore.plan", target=f"plan {doc.get('plan_id', '')}", tenant=tenant,
           detail={"restore_point": rp.id, "steps": len(doc.get("steps", [])), "audit_records": len(audit_records or [])})
    return doc


def _validate(selection: planner.Selection) -> None:
    unknown = [t for t in selection.types if t not in objecttypes.BY_NAME]
    if unknown:
        raise PlanInputError(f"Unknown object type(s) {', '.join(unknown)}; known: {', '.join(objecttypes.NAMES)}.")
    not_written = [t for t in selection.types if t not in planner.WRITABLE_TYPES]
    if not_written:
        raise PlanInputError(f"{', '.join(not_written)} are not written back by the restore feature; it writes "
                             f"{', '.join(planner.WRITABLE_TYPES)}.")
    for object_id in selection.ids:
        if not (0 < len(object_id) <= 64 and all(c.isalnum() or c == "-" for c in object_id)):
            raise PlanInputError(f"{object_id[:40]!r} is not an object id.")


def _last_known(backups, latest, then, now, tenant) -> dict:
    """The last backed-up state of each object of the restore point that is now in the recycle bin: what a
    restore from there gives back."""
    found = {}
    with backups.reading(latest.repository) as store:
        for object_type, ids in now.recycle_bin.items():
            for object_id in ids & set(then.objects.get(object_type, ())):
                row = store.get_object(str(tenant.key), latest.restore_point.id, object_type, object_id)
                if row is not None and row.data is not None:
                    found[(object_type, object_id)] = row.data
    return found


def plan_write(plan: dict, path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(plan, handle, indent=1, sort_keys=False, default=str)
        handle.write("\n")


def plan_read(path) -> dict:
    """A plan file written by restore_plan; PlanInputError when it is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise PlanInputError(f"Cannot read the plan {path}: {exc.strerror}.") from None
    except ValueError:
        raise PlanInputError(f"{path} is not a restore plan (not JSON).") from None
    return plan_check(doc)


def plan_check(doc) -> dict:
    if not isinstance(doc, dict) or doc.get("format") != planner.PLAN_FORMAT or not isinstance(doc.get("steps"), list):
        raise PlanInputError(f"Not a restore plan (format {planner.PLAN_FORMAT} expected).")
    if doc.get("plan_id") != planner.plan_digest(doc):
        raise PlanInputError("The plan was changed after it was made (its plan_id does not match its writes); "
                             "make it again with restore_plan.")
    return doc


# -- reverting directory audit records ---------------------------------------------------------------------

def plan_from_audit(*, tenant, record_ids: list[str], options: planner.Options) -> dict:
    """A plan that reverts exactly the changes of these directory audit records, read from the log backup.

    Each record names its target objects and, for attribute changes, ``modifiedProperties``; the plan puts
    back those attributes, memberships, owners or role memberships - or the deleted object - as they were at
    the newest restore point before the earliest record.
    """
    records = audit_records_read(tenant, record_ids)
    selection = audit_selection(records)
    earliest = min(parse_time(r["activityDateTime"]) for r in records)
    spec = _point_before(tenant, earliest)
    return plan_build(tenant=tenant, restore_point=spec, selection=selection, options=options,
                      audit_records=[r["id"] for r in records])


def _point_before(tenant, moment: datetime) -> PointSpec:
    with tenant_backups(tenant) as backups:
        for ref in backups.restore_points():  # newest first
            if ref.restore_point.committed_at <= moment:
                return PointSpec(ref.repository.pk, ref.restore_point.id)
    raise PlanInputError(f"Tenant {tenant.name} has no restore point before {moment:%Y-%m-%d %H:%M:%S} UTC, "
                         "so the state before these changes is not known.")


def audit_records_read(tenant, record_ids: list[str]) -> list[dict]:
    """The directory audit records with these ids, from the log backup repositories (found via the index)."""
    rows = [(r["record_id"], r["repository"], r["chunk"])
            for r in log_records_with_ids(tenant, log_type="audit", record_ids=record_ids)]
    missing = set(record_ids) - {r[0] for r in rows}
    if missing:
        raise PlanInputError(f"No directory audit record {sorted(missing)[0]} in the log backup of {tenant.name}.")
    wanted, found = set(record_ids), {}
    by_repository: dict[str, set[str]] = {}
    for _, repository, chunk in rows:
        by_repository.setdefault(repository, set()).add(chunk)
    for repository_pk, chunks in by_repository.items():
        repository = LogRepository.objects.get(pk=int(repository_pk))
        with log_repository_open(repository) as store:
            for manifest in store.manifests(str(tenant.key), "audit"):
                if manifest.chunk in chunks:
                    found.update({r["id"]: r for r in store.read_chunk(manifest) if r["id"] in wanted})
    return [found[i] for i in record_ids if i in found]


_REL_ACTIVITIES = {  # activity -> (relation kind, source is the first target?, add or remove)
    "Add member to group": ("group_member", "remove"), "Remove member from group": ("group_member", "add"),
    "Add owner to group": ("group_owner", "remove"), "Remove owner from group": ("group_owner", "add"),
    "Add member to role": ("directory_role_member", "remove"),
    "Remove member from role": ("directory_role_member", "add"),
    "Add owner to application": ("app_owner", "remove"), "Remove owner from application": ("app_owner", "add"),
    "Add member to administrative unit": ("au_member", "remove"),
    "Remove member from administrative unit": ("au_member", "add"),
}


def audit_selection(records: list[dict]) -> planner.Selection:
    """What reverting the records touches: objects and attributes, or relation pairs."""
    ids, attributes, pairs, values = [], set(), set(), {}
    for record in sorted(records, key=lambda r: r.get("activityDateTime", "")):  # the earliest oldValue wins
        activity = record.get("activityDisplayName", "")
        targets = record.get("targetResources") or []
        if activity in _REL_ACTIVITIES and len(targets) >= 2:
            pairs |= _pairs(activity, targets)
            continue
        for target in targets[:1]:
            ids.append(target["id"])
            for prop in target.get("modifiedProperties") or []:
                if prop.get("displayName"):
                    attributes.add(prop["displayName"])
                    values.setdefault((target["id"], prop["displayName"]), _json_value(prop.get("oldValue")))
    deleted = any(r.get("activityDisplayName", "").startswith("Delete") for r in records)
    return planner.Selection(ids=tuple(dict.fromkeys(ids)), objects_too=bool(ids),
                             attributes=None if deleted or not attributes else frozenset(attributes),
                             pairs=frozenset(pairs) if pairs else (None if deleted else frozenset()),
                             values={} if deleted else values)


def _json_value(text):
    """modifiedProperties values are JSON text ('["Sales"]'); None when absent or not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _pairs(activity: str, targets: list[dict]) -> set[tuple[str, str, str]]:
    kind, _ = _REL_ACTIVITIES[activity]
    types = [str(t.get("type", "")).lower() for t in targets]
    # Graph names the member (user, group...) and the container (group, role...) in either order.
    container = {"group_member": "group", "group_owner": "group", "directory_role_member": "role",
                 "app_owner": "application", "au_member": "administrativeunit"}[kind]
    if kind == "group_member" and types.count("group") == 2:
        source, member = targets[0]["id"], targets[1]["id"]
    else:
        index = types.index(container) if container in types else 0
        source, member = targets[index]["id"], targets[1 - index]["id"]
    if kind == "directory_role_member":
        member, source = (source, member) if types[0] == "user" else (member, source)
    return {(kind, source, member)}
