"""Admin / attacker scenarios driven from the control plane. Each mutation changes the directory through
the same journaled ops as API writes and leaves the audit records Entra would (initiated by the first
Global Administrator, or by a rogue app when "actor": "attacker")."""

from __future__ import annotations

import copy
import random
import uuid

from graph_emulator import audit
from graph_emulator.common import iso
from graph_emulator.generator.apps import credential
from graph_emulator.generator.people import make_user
from graph_emulator.generator.roles import GLOBAL_ADMIN_TEMPLATE, role_assignment_id
from graph_emulator.graphapi import credentials, roles, writes
from graph_emulator.kinds import is_soft_deletable
from graph_emulator.writerules import AUDIT_TYPE

NOUN = {"users": "user", "groups": "group", "applications": "application", "servicePrincipals": "service principal",
        "administrativeUnits": "administrative unit"}

ATTACKER = {"user": None, "app": {"appId": "8b1f3c2e-7a6d-4e4b-9a1c-5d2f0e9b7c31", "displayName": "Sync Helper",
                                  "servicePrincipalId": "2c9d4a71-0b5e-4f3a-8e6d-1a7b9c0d2e4f",
                                  "servicePrincipalName": "Sync Helper"}}


class MutationError(ValueError):
    pass


class Run:
    """Collects changed ids and audit ids for one mutation call."""

    def __init__(self, tenant, params: dict):
        self.t, self.p = tenant, params
        self.changed: list[str] = []
        self.audit_ids: list[str] = []
        self.actor = ATTACKER if params.get("actor") == "attacker" else audit.admin(tenant)

    def log(self, activity: str, kind: str, obj: dict, op: str, props=None, extra_targets=()):
        t = AUDIT_TYPE.get(kind, "Directory")
        targets = [audit.target(obj, t, props), *extra_targets]
        self.audit_ids.append(audit.record(self.t, activity, audit.CATEGORY.get(t, "Other"), op, self.actor, targets))
        self.changed.append(obj["id"])

    def get(self, kind: str, oid: str, deleted: bool = False) -> dict:
        obj = (self.t.deleted if deleted else self.t.objs)[kind].get(oid)
        if obj is None:
            raise MutationError(f"{kind} {oid} not found")
        return obj


def _update_user(r: Run):
    u = r.get("users", r.p["id"])
    props = dict(r.p.get("properties") or {})
    old = {k: u.get(k) for k in props}
    r.t.apply(["patch", "users", u["id"], props])
    r.log("Update user", "users", u, "Update",
          [*(audit.modified(k, old[k], v) for k, v in props.items()), audit.included(list(props))])


def _delete(kind: str, noun: str):
    def run(r: Run):
        obj = r.get(kind, r.p["id"])
        if is_soft_deletable(kind, obj):
            r.t.apply(["soft", kind, obj["id"], iso(r.t.now())])
        else:
            r.t.apply(["hard", kind, obj["id"]])
        r.log(f"Delete {noun}", kind, obj, "Delete")
    return run


def _hard_delete(r: Run):
    oid = r.p["id"]
    for kind in r.t.deleted:
        obj = r.t.deleted[kind].get(oid) or r.t.objs[kind].get(oid)
        if obj is not None:
            r.t.apply(["hard", kind, oid])
            r.log(f"Hard Delete {NOUN.get(kind, kind)}", kind, obj, "Delete")
            return
    raise MutationError(f"{oid} not found")


def _restore(r: Run):
    oid = r.p["id"]
    for kind in r.t.deleted:
        obj = r.t.deleted[kind].get(oid)
        if obj is not None:
            r.t.apply(["restore", kind, oid])
            r.log(f"Restore {NOUN.get(kind, kind)}", kind, obj, "Restore")
            return
    raise MutationError(f"deleted item {oid} not found")


def _member(verb: str):
    def run(r: Run):
        g = r.get("groups", r.p["group_id"])
        mid = r.p["member_id"]
        hit = r.t.find(mid)
        if hit is None:
            raise MutationError(f"member {mid} not found")
        r.t.apply(["link" if verb == "Add" else "unlink", "group_members", g["id"], mid])
        r.audit_ids.append(writes.member_audit(r.t, r.actor, "groups", "group_members", g, mid, verb))
        r.changed += [g["id"], mid]
    return run


def _ca(action: str):
    def run(r: Run):
        p = r.get("conditionalAccessPolicies", r.p["id"])
        if action == "delete":
            r.t.apply(["soft", "conditionalAccessPolicies", p["id"], iso(r.t.now())])
            return r.log("Delete conditional access policy", "conditionalAccessPolicies", p, "Delete",
                         writes.policy_props("conditionalAccessPolicies", p, None))
        patch = {"state": "disabled"} if action == "disable" else dict(r.p.get("patch") or {})
        patch["modifiedDateTime"] = iso(r.t.now())
        before = copy.deepcopy(p)
        r.t.apply(["patch", "conditionalAccessPolicies", p["id"], patch])
        r.log("Update conditional access policy", "conditionalAccessPolicies", p, "Update",
              writes.policy_props("conditionalAccessPolicies", before, p))
    return run


def _add_app_credential(r: Run):
    oid = r.p["app_id"]
    app = r.t.objs["applications"].get(oid) or next(
        (a for a in r.t.objs["applications"].values() if a["appId"] == oid), None)
    if app is None:
        raise MutationError(f"application {oid} not found")
    cred = credential(random.Random(uuid.uuid4().int), r.t.now(), "password", r.p.get("display_name", "backdoor"),
                      start=r.t.now())
    old = list(app.get("passwordCredentials", []))
    r.t.apply(["patch", "applications", app["id"], {"passwordCredentials": [*old, cred]}])
    describe = lambda creds: [credentials.key_description(c, "Password") for c in creds] or None  # noqa: E731
    r.log("Update application – Certificates and secrets management ", "applications", app, "Update",
          [audit.modified("KeyDescription", describe(old), describe([*old, cred])), audit.included(["KeyDescription"])])


def _make_global_admin(r: Run):
    u = r.get("users", r.p["user_id"])
    role = roles.role_for_template(r.t, GLOBAL_ADMIN_TEMPLATE, activate=True)
    r.t.apply(["link", "role_members", role["id"], u["id"]])
    ra = {"id": role_assignment_id(random.Random(uuid.uuid4().int)), "principalId": u["id"],
          "roleDefinitionId": GLOBAL_ADMIN_TEMPLATE, "directoryScopeId": "/", "appScopeId": None, "condition": None}
    r.t.apply(["put", "roleAssignments", ra])
    r.log("Add member to role", "users", u, "Assign", audit.container_props("directoryRoles", role, added=True),
          extra_targets=[audit.target(role, "Role")])


def _mass_delete(r: Run):
    rng = random.Random(r.p.get("seed", 0))
    ids = sorted(r.t.objs["users"])
    admins = set(r.t.rev["role_members"])
    pool = [i for i in ids if i not in admins]
    for oid in rng.sample(pool, k=min(int(r.p.get("count", 10)), len(pool))):
        obj = r.t.objs["users"][oid]
        r.t.apply(["soft", "users", oid, iso(r.t.now())])
        r.log("Delete user", "users", obj, "Delete")


def _create_user(r: Run):
    rng = random.Random(r.p.get("seed", uuid.uuid4().int))
    n = len(r.t.objs["users"]) + len(r.t.deleted["users"]) + 1000
    given, surname = r.p.get("given_name", "New"), r.p.get("surname", f"Hire{n}")
    u = make_user(rng, n, given, surname, f"{given}.{surname}".lower(), r.t.meta)
    u.pop("signInActivity", None)
    u["createdDateTime"] = iso(r.t.now())
    u.update(r.p.get("properties") or {})
    r.t.apply(["put", "users", u])
    r.log("Add user", "users", u, "Add")


def _churn(r: Run):
    """Edit `fraction` of users (job/department/phone), group memberships and group descriptions."""
    rng = random.Random(r.p.get("seed", 0))
    frac = float(r.p.get("fraction", 0.01))
    users = sorted(r.t.objs["users"])
    titles = ["Senior Analyst", "Team Lead", "Principal Engineer", "Coordinator", "Director"]
    for oid in rng.sample(users, k=max(1, int(len(users) * frac))):
        u = r.t.objs["users"][oid]
        props = {"jobTitle": rng.choice(titles)} if u.get("onPremisesSyncEnabled") is None else {
            "usageLocation": rng.choice(["US", "GB", "DE"])}
        old = {k: u.get(k) for k in props}
        r.t.apply(["patch", "users", oid, props])
        r.log("Update user", "users", u, "Update", [audit.modified(k, old[k], v) for k, v in props.items()])
    groups = sorted(g for g, o in r.t.objs["groups"].items() if not o.get("membershipRule")
                    and not o.get("onPremisesSyncEnabled"))
    for gid in rng.sample(groups, k=min(len(groups), max(1, int(len(groups) * frac)))):
        members = list(r.t.rel["group_members"].get(gid, {}))
        r.p.update(group_id=gid)
        if members and rng.random() < 0.5:
            r.p["member_id"] = rng.choice(members)
            _member("Remove")(r)
        else:
            r.p["member_id"] = rng.choice(users)
            if r.p["member_id"] not in r.t.rel["group_members"].get(gid, {}):
                _member("Add")(r)


OWNER_RELS = {"groups": "group_owners", "applications": "app_owners", "servicePrincipals": "sp_owners"}


def _owner(verb: str):
    """add_owner / remove_owner {object_id (group, application or service principal), owner_id}."""
    def run(r: Run):
        oid = r.p["object_id"]
        kind = next((k for k in OWNER_RELS if oid in r.t.objs[k]), None)
        if kind is None:
            raise MutationError(f"group, application or service principal {oid} not found")
        hit = r.t.find(r.p["owner_id"])
        if hit is None:
            raise MutationError(f"owner {r.p['owner_id']} not found")
        r.t.apply(["link" if verb == "Add" else "unlink", OWNER_RELS[kind], oid, hit[1]["id"]])
        r.audit_ids.append(writes.member_audit(r.t, r.actor, kind, OWNER_RELS[kind], r.t.objs[kind][oid],
                                               hit[1]["id"], verb))
        r.changed += [oid, hit[1]["id"]]
    return run


def _set_manager(r: Run):
    """set_manager {user_id, manager_id (None removes the manager)}."""
    u = r.get("users", r.p["user_id"])
    mid = r.p.get("manager_id")
    if mid is not None and r.t.find(mid) is None:
        raise MutationError(f"manager {mid} not found")
    old = r.t.managers.get(u["id"])
    r.t.apply(["manager", u["id"], mid])
    r.audit_ids.append(writes.manager_audit(r.t, r.actor, u, old, mid))
    r.changed.append(u["id"])


def _require_resync(r: Run):
    """Tenant maintenance: every delta token issued until now answers 410 Gone (https://learn.microsoft.com/graph/delta-query-overview)."""
    r.t.meta["resync_before"] = r.t.now()
    r.t.save_meta()


def _advance_clock(r: Run):
    r.t.meta["clock_offset"] = r.t.meta.get("clock_offset", 0.0) + float(r.p.get("seconds", 0))
    r.t.save_meta()


KINDS = {
    "update_user": _update_user, "delete_user": _delete("users", "user"), "hard_delete": _hard_delete,
    "restore_deleted": _restore, "remove_member": _member("Remove"), "add_member": _member("Add"),
    "disable_ca_policy": _ca("disable"), "edit_ca_policy": _ca("edit"), "delete_ca_policy": _ca("delete"),
    "add_app_credential": _add_app_credential, "make_global_admin": _make_global_admin,
    "mass_delete_users": _mass_delete, "churn": _churn, "create_user": _create_user,
    "delete_group": _delete("groups", "group"), "advance_clock": _advance_clock,
    "add_owner": _owner("Add"), "remove_owner": _owner("Remove"), "set_manager": _set_manager,
    "require_resync": _require_resync,
}


def run(tenant, params: dict) -> dict:
    fn = KINDS.get(params.get("kind"))
    if fn is None:
        raise MutationError(f"unknown mutation kind {params.get('kind')!r}; known: {sorted(KINDS)}")
    r = Run(tenant, params)
    try:
        fn(r)
    except KeyError as exc:
        raise MutationError(f"missing parameter {exc}") from None
    return {"changed": list(dict.fromkeys(r.changed)), "audit_ids": r.audit_ids, "tenant_time": iso(tenant.now())}
