"""The attacks of issue 11 played through Graph against the emulator process, the ground-truth comparison that
finds each of them, and a restore written by hand through Graph's documented writes that leaves no difference
(recycle bin restores, a hard-deleted nested security group re-created with its memberships, owners,
administrative unit and Conditional Access reference remapped). It proves the emulator accepts every write a
restore needs and that ``tenant_differences`` fails until the tenant is really back."""

from __future__ import annotations

import copy
import itertools

import pytest

from graph_emulator.writerules import READ_ONLY
from tests.conftest import FULL_ROLES
from tests.support import attacks
from tests.support.groundtruth import NOT_RESTORABLE, tenant_differences

pytestmark = pytest.mark.e2e
REF = attacks.REF
_seeds = itertools.count(4242)


@pytest.fixture
def attacked(emulator):
    """A small tenant, its truth at the "restore point", the attacks played on it, and an admin app."""
    info = emulator.control.create_tenant(seed=next(_seeds), users=45, licence="P2")
    tid = info["tenant_id"]
    admin = attacks.GraphApp.register(emulator.url, emulator.ca_path, emulator.control, tid,
                                      [*FULL_ROLES, *attacks.ATTACKER_ROLES], "Restore admin")
    prepared = attacks.prepare_nested_ca_group(admin, emulator.control.export(tid))
    then = emulator.control.export(tid)
    attacker = attacks.GraphApp.register(emulator.url, emulator.ca_path, emulator.control, tid,
                                         attacks.ATTACKER_ROLES)
    done = attacks.play_all(attacker, then, prepared)
    yield tid, then, done, admin, prepared
    admin.close()
    attacker.close()


def test_every_attack_shows_in_the_ground_truth_comparison_and_the_audit_log(emulator, attacked):
    tid, then, done, _, prepared = attacked
    now = emulator.control.export(tid)
    text = "\n".join(tenant_differences(then, now, limit=10_000))
    for attack in done:
        for object_type, ids in {**attack.soft_deleted, **attack.hard_deleted}.items():
            assert all(f"{object_type} {i}: missing now" in text for i in ids), attack.name
        for (object_type, oid), attrs in attack.changed.items():
            assert all(f"{object_type} {oid}: {a} was" in text for a in attrs), attack.name
        for kind, source, target in attack.relations_removed:
            assert f"{kind} {source} -> {target}: missing now" in text, attack.name
        for kind, source, target in attack.relations_added:
            assert f"{kind} {source} -> {target}: not there at the restore point" in text, attack.name
    audits = _audits(emulator, tid)
    by_attacker = {a["activityDisplayName"] for a in audits if (a["initiatedBy"]["app"] or {}).get("displayName")
                   == "Sync Helper"}
    assert {activity for attack in done for activity in attack.activities} <= by_attacker
    policy = next(p for p in now["conditionalAccessPolicies"] if p["id"] == prepared["policy"])
    assert policy["conditions"]["users"]["includeGroups"] == [prepared["group"]]  # a stale id, still there


def _audits(emulator, tid: str) -> list[dict]:
    app = emulator.control.register_app(tid, ["AuditLog.Read.All", "Directory.Read.All"], display_name="reader")
    reader = attacks.GraphApp(emulator.url, emulator.ca_path, tid, app["client_id"], app["client_secret"])
    records, url = [], "/auditLogs/directoryAudits"
    while url:
        page = reader.call("GET", url)
        records += page["value"]
        url = page.get("@odata.nextLink")
    reader.close()
    return records


def _recreate_group(admin, then: dict, gid: str, remapped: dict) -> None:
    """A hard-deleted group back under a new id: its writable attributes, members, owners, parent groups,
    administrative units and app role assignments."""
    old = next(g for g in then["groups"] if g["id"] == gid)
    body = {k: v for k, v in old.items() if v not in (None, []) and k not in READ_ONLY["groups"] | NOT_RESTORABLE}
    members = [remapped.get(m, m) for m in then["group_members"].get(gid, [])]
    owners = then["group_owners"].get(gid, [])
    new = admin.call("POST", "/groups", {**body, "members@odata.bind": [REF + m for m in members[:20]],
                                         "owners@odata.bind": [REF + o for o in owners[:20]]})
    remapped[gid] = new["id"]
    for member in members[20:]:
        admin.call("POST", f"/groups/{new['id']}/members/$ref", {"@odata.id": REF + member})
    for parent, children in then["group_members"].items():
        if gid in children:
            admin.call("POST", f"/groups/{remapped.get(parent, parent)}/members/$ref", {"@odata.id": REF + new["id"]})
    for au, children in then["administrativeUnitMembers"].items():
        if gid in children:
            admin.call("POST", f"/directory/administrativeUnits/{au}/members/$ref", {"@odata.id": REF + new["id"]})
    for a in then["appRoleAssignments"]:
        if a["principalId"] == gid:
            admin.call("POST", f"/groups/{new['id']}/appRoleAssignments", {
                "principalId": new["id"], "resourceId": a["resourceId"], "appRoleId": a["appRoleId"]})


def _undo(admin, then: dict, done: list[attacks.Attack]) -> dict:
    """What a restore of the whole tenant writes, in dependency order; returns the remapped ids."""
    remapped: dict[str, str] = {}
    for attack in done:
        for oid in [i for ids in attack.soft_deleted.values() for i in ids]:
            admin.call("POST", f"/directory/deletedItems/{oid}/restore")
    for attack in done:
        for gid in attack.hard_deleted.get("group", []):
            _recreate_group(admin, then, gid, remapped)
    paths = {"user": "users", "group": "groups", "application": "applications", "servicePrincipal": "servicePrincipals",
             "conditionalAccessPolicy": "identity/conditionalAccess/policies"}
    for attack in done:
        for (object_type, oid), attrs in attack.changed.items():
            if object_type == "application" and "passwordCredentials" in attrs:
                for key_id in attack.created["passwordCredential"]:
                    admin.call("POST", f"/applications/{oid}/removePassword", {"keyId": key_id})
                continue
            admin.call("PATCH", f"/{paths[object_type]}/{oid}", {a: old for a, (old, _) in attrs.items()})
        for kind, source, target in attack.relations_removed:
            nav = "owners" if kind.endswith("_owner") else "members"
            path = {"group_member": "groups", "group_owner": "groups", "app_owner": "applications",
                    "sp_owner": "servicePrincipals", "au_member": "directory/administrativeUnits"}[kind]
            if source in remapped or target in remapped:
                continue  # re-created with the group
            admin.call("POST", f"/{path}/{source}/{nav}/$ref", {"@odata.id": REF + target})
        for assignment in attack.created.get("roleAssignment", []):
            admin.call("DELETE", f"/roleManagement/directory/roleAssignments/{assignment}")
        for object_type in ("user", "servicePrincipal", "application"):  # created after the restore point:
            for oid in attack.created.get(object_type, []):  # soft-deleted, never purged
                admin.call("DELETE", f"/{paths[object_type]}/{oid}")
    for policy in then["conditionalAccessPolicies"]:  # references to re-created objects
        if any(old in str(policy["conditions"]) for old in remapped):
            conditions = attacks_remap(policy["conditions"], remapped)
            admin.call("PATCH", f"/identity/conditionalAccess/policies/{policy['id']}", {"conditions": conditions})
    return remapped


def attacks_remap(value, remapped: dict):
    if isinstance(value, str):
        return remapped.get(value, value)
    if isinstance(value, list):
        return [attacks_remap(v, remapped) for v in value]
    if isinstance(value, dict):
        return {k: attacks_remap(v, remapped) for k, v in value.items()}
    return value


def test_a_restore_through_graph_leaves_no_difference_with_the_restore_point(emulator, attacked):
    tid, then, done, admin, prepared = attacked
    remapped = _undo(admin, then, done)
    assert prepared["group"] in remapped
    now = emulator.control.export(tid)
    diffs = tenant_differences(then, now, remapped=remapped)
    assert diffs == [], "\n".join(diffs)
    # Without the remapping, the re-created group and every reference to it are differences.
    unmapped = tenant_differences(then, now, limit=10_000)
    assert any(prepared["group"] in line for line in unmapped)
    assert any(line.startswith("conditionalAccessPolicy") for line in unmapped)


def test_tenant_differences_ignores_what_no_restore_can_write_and_honours_skips(emulator):
    info = emulator.control.create_tenant(seed=next(_seeds), users=20, licence="P2")
    then = emulator.control.export(info["tenant_id"])
    now = copy.deepcopy(then)
    user = next(u for u in now["users"] if not u["onPremisesSyncEnabled"])
    user.update(jobTitle="Changed", createdDateTime="2030-01-01T00:00:00Z",
                signInSessionsValidFromDateTime="2030-01-01T00:00:00Z")  # volatile and server-owned: not compared
    assert tenant_differences(then, now) == [f"user {user['id']}: jobTitle was "
                                             f"{next(u for u in then['users'] if u['id'] == user['id']).get('jobTitle')!r}"
                                             ", is 'Changed'"]
    assert tenant_differences(then, now, skipped={("user", user["id"], "jobTitle")}) == []
    now["users"].remove(user)
    assert tenant_differences(then, now, skipped={("user", user["id"], None)}) == []
    assert tenant_differences(then, now)[0] == f"user {user['id']}: missing now"
