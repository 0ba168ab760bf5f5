"""The attacks issue 11 proves restore with, each played against an emulated tenant through Microsoft Graph
as a rogue application would play them (its own app registration, its own token, documented write paths).

Each attack returns an ``Attack``: what it created, deleted and changed, and which relationships it added or
removed, in the product's vocabulary (object types and relation kinds of ``entrabackup.objecttypes``), so a
test can assert that compare reports every item and that a restore undoes them (``groundtruth.tenant_differences``).

``prepare_nested_ca_group`` is not an attack: it is the legitimate state the hard deletion needs (a nested
security group with members, an owner, a parent group, an administrative unit and a Conditional Access policy
that includes it), made by the tenant's administrator before the restore point is taken.

A restore end-to-end test::

    admin = GraphApp.register(emu.url, emu.ca_path, emu.control, tid, ATTACKER_ROLES, "Tenant admin")
    prepared = prepare_nested_ca_group(admin, emu.control.export(tid))
    ...  # back up: this is the restore point
    then = emu.control.export(tid)  # the ground truth at the restore point
    attacker = GraphApp.register(emu.url, emu.ca_path, emu.control, tid, ATTACKER_ROLES)  # "Sync Helper"
    done = play_all(attacker, then, prepared)  # or one attack: mass_deletion(attacker, then, users=5, groups=2)
    ...  # compare (each Attack's touched() and relations must be in the report), then restore
    assert groundtruth.tenant_differences(then, emu.control.export(tid), remapped=..., skipped=...) == []

The audit records of every attack are initiated by the attacker's app (``initiatedBy.app.displayName``
"Sync Helper"); each Attack lists the activities it leaves in ``activities``.
"""

from __future__ import annotations

import dataclasses
import ssl
import time

import httpx
import msal
import requests

from graph_emulator.generator.roles import GLOBAL_ADMIN_TEMPLATE

ATTACKER_ROLES = ["Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
                  "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "RoleManagement.ReadWrite.Directory",
                  "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "AdministrativeUnit.ReadWrite.All"]
REF = "https://graph.microsoft.com/v1.0/directoryObjects/"
JSON = {"Content-Type": "application/json"}


class AttackError(RuntimeError):
    """A write the attack needed was refused: the status and Graph's error message."""


class GraphApp:
    """An app registration of the emulated tenant with its own client-credentials token (msal) and an httpx
    client for Graph. ``register`` creates it through the emulator's control plane, as a consent grant would."""

    def __init__(self, url: str, ca_path: str, tenant_id: str, client_id: str, secret: str):
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=
        session.verify = ca_path
        app = msal.ConfidentialClientApplication(client_id, client_credential=secret, authority=f"{url}/{tenant_id}",
                                                 instance_discovery=False, http_client=session)
        token = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
        if "access_token" not in token:
            raise AttackError(f"no token for {client_id}: {token.get('error')}")
        self.tenant_id, self.client_id = tenant_id, client_id
        self.app_object_id: str | None = None  # set by register()
        self.service_principal_id: str | None = None
        self.http = httpx.Client(base_url=f"{url}/v1.0", trust_env=False, timeout=60,
                                 verify=ssl.create_default_context(cafile=ca_path),
                                 headers={"Authorization": f"Bearer {token['access_token']}"})

    @classmethod
    def register(cls, url: str, ca_path: str, control, tenant_id: str, roles: list[str],
                 name: str = "Sync Helper") -> GraphApp:
        app = control.register_app(tenant_id, roles, display_name=name)
        graph_app = cls(url, ca_path, tenant_id, app["client_id"], app["client_secret"])
        graph_app.app_object_id, graph_app.service_principal_id = app["app_object_id"], app["service_principal_id"]
        return graph_app

    def call(self, method: str, path: str, body: dict | None = None, expect: tuple[int, ...] = (200, 201, 204)):
        """One Graph request; Conditional Access answers 429 without Retry-After, so wait a second then."""
        for _ in range(10):
            resp = self.http.request(method, path, json=body)
            if resp.status_code != 429:
                break
            time.sleep(float(resp.headers.get("Retry-After", 1)))
        if resp.status_code not in expect:
            raise AttackError(f"{method} {path} -> {resp.status_code}: {resp.text[:300]}")
        return resp.json() if resp.content else None

    def close(self) -> None:
        self.http.close()


@dataclasses.dataclass
class Attack:
    """What one attack did. Keys are the product's object types ("user", "group", ...) and relation kinds
    ("group_member", "directory_role_member", ...); ``changed`` holds (old, new) per attribute."""

    name: str
    activities: list[str] = dataclasses.field(default_factory=list)  # directory audit activities it leaves
    created: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    soft_deleted: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    hard_deleted: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    changed: dict[tuple[str, str], dict[str, tuple]] = dataclasses.field(default_factory=dict)
    relations_added: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    relations_removed: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)

    def touched(self) -> set[tuple[str, str]]:
        """Every (object type, id) the attack created, deleted or changed."""
        out = {(t, i) for d in (self.created, self.soft_deleted, self.hard_deleted) for t, ids in d.items()
               for i in ids}
        return out | set(self.changed)


def _cloud_users(truth: dict) -> list[dict]:
    """Cloud-only members that hold no directory role (a restore test should not lock its admin out)."""
    admins = {m for members in truth["directoryRoleMembers"].values() for m in members}
    return [u for u in truth["users"] if not u.get("onPremisesSyncEnabled") and u["userType"] == "Member"
            and u["id"] not in admins and "<" not in u["displayName"]]


def _editable_groups(truth: dict) -> list[dict]:
    return [g for g in truth["groups"] if not g.get("onPremisesSyncEnabled") and not g.get("membershipRule")]


def _is_security(group: dict) -> bool:
    return "Unified" not in (group.get("groupTypes") or [])


def mass_deletion(app: GraphApp, truth: dict, *, users: int = 5, groups: int = 2) -> Attack:
    """DELETE N users (recycle bin) and M groups: Microsoft 365 groups go to the recycle bin, security groups
    are gone at once (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
    done = Attack("mass deletion")
    for user in _cloud_users(truth)[-users:]:
        app.call("DELETE", f"/users/{user['id']}")
        done.soft_deleted.setdefault("user", []).append(user["id"])
        done.activities.append("Delete user")
    pool = _editable_groups(truth)
    picked = ([g for g in pool if not _is_security(g)][:1] + [g for g in pool if _is_security(g)])[:groups]
    for group in picked:
        app.call("DELETE", f"/groups/{group['id']}")
        (done.hard_deleted if _is_security(group) else done.soft_deleted).setdefault("group", []).append(group["id"])
        done.activities.append("Delete group")
    return done


def prepare_nested_ca_group(admin: GraphApp, truth: dict) -> dict:
    """The legitimate state before the restore point: a security group "CA pilot" with three members and an
    owner, itself a member of another security group and of an administrative unit, included by a new
    Conditional Access policy. Returns its ids: group, parent, members, owner, au, policy."""
    users = _cloud_users(truth)
    parent = next(g for g in _editable_groups(truth) if _is_security(g) and g.get("securityEnabled"))
    members, owner = [u["id"] for u in users[:3]], users[3]["id"]
    group = admin.call("POST", "/groups", {
        "displayName": "CA pilot", "mailEnabled": False, "mailNickname": "capilot", "securityEnabled": True,
        "description": "Pilot users of the MFA policy",
        "members@odata.bind": [REF + m for m in members], "owners@odata.bind": [REF + owner]})
    admin.call("POST", f"/groups/{parent['id']}/members/$ref", {"@odata.id": REF + group["id"]})
    au = admin.call("POST", "/directory/administrativeUnits", {"displayName": "Pilot unit"})
    admin.call("POST", f"/directory/administrativeUnits/{au['id']}/members/$ref", {"@odata.id": REF + group["id"]})
    policy = admin.call("POST", "/identity/conditionalAccess/policies", {
        "displayName": "Require MFA for the pilot", "state": "enabled",
        "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                       "users": {"includeGroups": [group["id"]]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
    return {"group": group["id"], "parent": parent["id"], "members": members, "owner": owner, "au": au["id"],
            "policy": policy["id"]}


def hard_delete_nested_group(app: GraphApp, prepared: dict) -> Attack:
    """DELETE the nested security group: no recycle bin, every membership and ownership goes with it, and the
    Conditional Access policy keeps an id that no longer resolves."""
    gid = prepared["group"]
    app.call("DELETE", f"/groups/{gid}")
    done = Attack("hard deletion of a nested security group", activities=["Delete group"],
                  hard_deleted={"group": [gid]})
    done.relations_removed |= {("group_member", gid, m) for m in prepared["members"]}
    done.relations_removed |= {("group_owner", gid, prepared["owner"]), ("group_member", prepared["parent"], gid),
                               ("au_member", prepared["au"], gid)}
    return done


def membership_and_owner_removals(app: GraphApp, truth: dict, *, members: int = 3) -> Attack:
    """DELETE .../members/{id}/$ref from groups, and an owner from a group, an application and a service
    principal (https://learn.microsoft.com/graph/api/group-delete-members, .../group-delete-owners)."""
    done = Attack("membership and owner removals")
    editable = {g["id"] for g in _editable_groups(truth)}
    pairs = [(g, m) for g, ms in sorted(truth["group_members"].items()) if g in editable for m in ms
             if m in {u["id"] for u in truth["users"]}]
    for gid, mid in pairs[:members]:
        app.call("DELETE", f"/groups/{gid}/members/{mid}/$ref")
        done.relations_removed.add(("group_member", gid, mid))
        done.activities.append("Remove member from group")
    for kind, path, key in (("group_owner", "groups", "group_owners"), ("app_owner", "applications",
                                                                        "application_owners"),
                            ("sp_owner", "servicePrincipals", "servicePrincipal_owners")):
        source, owners = next(((s, o) for s, o in sorted(truth[key].items()) if o and (
            kind != "group_owner" or s in editable)), (None, None))
        if source is None:
            continue
        app.call("DELETE", f"/{path}/{source}/owners/{owners[0]}/$ref")
        done.relations_removed.add((kind, source, owners[0]))
        done.activities.append({"groups": "Remove owner from group", "applications": "Remove owner from application",
                                "servicePrincipals": "Remove owner from service principal"}[path])
    return done


def attribute_edits(app: GraphApp, truth: dict) -> Attack:
    """PATCH users (job title, department, an account disabled), a group and an application."""
    done = Attack("attribute edits")
    users = _cloud_users(truth)
    edits = [("user", "users", users[0], {"jobTitle": "Intern", "department": "Nowhere"}),
             ("user", "users", users[1], {"accountEnabled": False}),
             ("group", "groups", _editable_groups(truth)[0], {"description": "pwned"}),
             ("application", "applications", truth["applications"][0], {"displayName": "Totally Legit App"})]
    for object_type, path, obj, patch in edits:
        app.call("PATCH", f"/{path}/{obj['id']}", patch)
        done.changed[(object_type, obj["id"])] = {k: (obj.get(k), v) for k, v in patch.items()}
        done.activities.append(f"Update {object_type}")
    return done


def weaken_conditional_access(app: GraphApp, truth: dict) -> Attack:
    """One enabled policy switched off, another weakened: a user excluded and its grant controls reduced."""
    done = Attack("disabled and weakened Conditional Access policies")
    enabled = [p for p in truth["conditionalAccessPolicies"] if p["state"] == "enabled"]
    off, weak = enabled[0], (enabled[1:] or truth["conditionalAccessPolicies"][1:])[0]
    app.call("PATCH", f"/identity/conditionalAccess/policies/{off['id']}", {"state": "disabled"})
    done.changed[("conditionalAccessPolicy", off["id"])] = {"state": (off["state"], "disabled")}
    users = dict(weak["conditions"]["users"])
    users["excludeUsers"] = [*users.get("excludeUsers", []), _cloud_users(truth)[0]["id"]]
    conditions = {**weak["conditions"], "users": users}
    grant = {**weak["grantControls"], "builtInControls": ["passwordChange"], "operator": "OR"}
    app.call("PATCH", f"/identity/conditionalAccess/policies/{weak['id']}",
             {"conditions": conditions, "grantControls": grant})
    done.changed[("conditionalAccessPolicy", weak["id"])] = {
        "conditions": (weak["conditions"], conditions), "grantControls": (weak["grantControls"], grant)}
    done.activities += ["Update conditional access policy"] * 2
    return done


def add_application_credential(app: GraphApp, truth: dict) -> Attack:
    """POST /applications/{id}/addPassword: a client secret only the attacker knows."""
    target = next(a for a in truth["applications"] if a["displayName"] != "Sync Helper")
    added = app.call("POST", f"/applications/{target['id']}/addPassword",
                     {"passwordCredential": {"displayName": "sync"}})
    done = Attack("credential added to an application",
                  activities=["Update application – Certificates and secrets management "])
    done.changed[("application", target["id"])] = {"passwordCredentials": (
        [c["keyId"] for c in target.get("passwordCredentials") or []],
        [*(c["keyId"] for c in target.get("passwordCredentials") or []), added["keyId"]])}
    done.created["passwordCredential"] = [added["keyId"]]
    return done


def new_global_admin(app: GraphApp, truth: dict) -> Attack:
    """A new cloud user made Global Administrator through POST /roleManagement/directory/roleAssignments."""
    domain = truth["tenant"]["domain"]
    user = app.call("POST", "/users", {
        "accountEnabled": True, "displayName": "Sync Service", "mailNickname": "svc-sync",
        "userPrincipalName": f"svc-sync@{domain}",
        "passwordProfile": {"password": "Wint3r!sComing-2026", "forceChangePasswordNextSignIn": False}})
    assignment = app.call("POST", "/roleManagement/directory/roleAssignments", {
        "principalId": user["id"], "roleDefinitionId": GLOBAL_ADMIN_TEMPLATE, "directoryScopeId": "/"})
    role = next(r["id"] for r in truth["directoryRoles"] if r["roleTemplateId"] == GLOBAL_ADMIN_TEMPLATE)
    return Attack("new Global Administrator", activities=["Add user", "Add member to role"],
                  created={"user": [user["id"]], "roleAssignment": [assignment["id"]]},
                  relations_added={("directory_role_member", role, user["id"])})


def play_all(app: GraphApp, truth: dict, prepared: dict) -> list[Attack]:
    """Every attack of the issue, in one go, each on objects no other one touches (small counts: tests stay
    fast). ``truth`` is the export taken after ``prepare_nested_ca_group``; the first Attack is the
    registration of ``app`` itself (when it was registered after the restore point, a restore removes it)."""
    setup = {prepared["group"], prepared["parent"], prepared["owner"], *prepared["members"]}
    others = {**truth, "users": [u for u in truth["users"] if u["id"] not in setup],
              "groups": [g for g in truth["groups"] if g["id"] not in setup],
              "conditionalAccessPolicies": [p for p in truth["conditionalAccessPolicies"]
                                            if p["id"] != prepared["policy"]]}
    done = [Attack("rogue application registered", activities=[],
                   created={"application": [app.app_object_id], "servicePrincipal": [app.service_principal_id]}),
            hard_delete_nested_group(app, prepared), attribute_edits(app, others),
            membership_and_owner_removals(app, others), weaken_conditional_access(app, others),
            add_application_credential(app, others), new_global_admin(app, others)]
    touched = {i for a in done for _, i in a.touched()}
    touched |= {i for a in done for _, s, t in a.relations_removed | a.relations_added for i in (s, t)}
    named = {ref for p in truth["conditionalAccessPolicies"] for key in ("includeGroups", "excludeGroups",
                                                                          "includeUsers", "excludeUsers")
             for ref in p["conditions"]["users"].get(key) or []}
    spare = {**others, "users": [u for u in others["users"] if u["id"] not in touched | named],
             "groups": [g for g in others["groups"] if g["id"] not in touched | named]}
    done.append(mass_deletion(app, spare, users=3, groups=2))
    return done
