"""Restores end to end: the Graph emulator, a real backup proxy (`manage.py qcluster`) running the restore
session, the local PostgreSQL, msal. After the attack and the restore, the emulator's ground truth must equal
the one at the restore point, except the ids of re-created objects (remapped) and attributes Graph sets
itself (read-only, or synced from on-premises), which the plan lists as not written."""

import io
import json
import os
import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audittrail import chain
from audittrail.models import Entry
from entrabackup import objecttypes
from jobs.logbackup.services import log_job_create
from repositories.log_services import log_repository_add
from restore import plan as planner
from restore.models import RestoreSession
from restore.sessions import sessions_interrupt_lost
from tests.support import groundtruth
from tests.support.attacks import ATTACKER_ROLES, GraphApp, _cloud_users, play_all, prepare_nested_ca_group
from tests.support.processes import backup_proxy, wait_for

pytestmark = [pytest.mark.e2e]


def _backup(tenant) -> int:
    out = io.StringIO()
    call_command("backup_run", "--tenant", tenant.name, "--wait", "--timeout", "180", stdout=out)
    return int(out.getvalue().strip().splitlines()[-1].split()[-1])


def _plan(tenant, path, *args) -> dict:
    call_command("restore_plan", "--tenant", tenant.name, *args, "--output", str(path), stdout=io.StringIO())
    return json.loads(path.read_text())


def _apply(path, reason="e2e: put the tenant back") -> str:
    out = io.StringIO()
    call_command("restore_apply", str(path), "--reason", reason, "--wait", "--timeout", "240", stdout=out)
    return out.getvalue()


def _audited_attack(control, tid: str, truth: dict) -> list[str]:
    """Edits, a membership removed and one added, a policy disabled, a user deleted: their audit record ids."""
    users = [u for u in truth["users"] if not u.get("onPremisesSyncEnabled")]
    group = next(g["id"] for g in truth["groups"] if not g.get("membershipRule") and not g.get("onPremisesSyncEnabled")
                 and 1 < len(truth["group_members"].get(g["id"], [])) < len(users) // 2)
    outsider = next(u["id"] for u in users if u["id"] not in truth["group_members"][group])
    audited = []
    for kind, params in (("update_user", {"id": users[0]["id"], "properties": {"jobTitle": "Owned", "city": "Nowhere"}}),
                         ("remove_member", {"group_id": group, "member_id": truth["group_members"][group][0]}),
                         ("add_member", {"group_id": group, "member_id": outsider}),
                         ("disable_ca_policy", {"id": truth["conditionalAccessPolicies"][0]["id"]}),
                         ("delete_user", {"id": users[4]["id"]})):
        audited += control.mutate(tid, kind, **params)["audit_ids"]
    return audited


OBJECT_TYPES = {t.name for t in objecttypes.TYPES}


def _every_attack_in_the_report(report: dict, attacks, deleted_users: list[str]) -> None:
    """Each attack shows in the compare report (restore point -> production): every object it created, deleted
    or changed, with the attributes it changed, and every relationship it added or removed between objects
    that still exist (a deleted object's relationships go with it)."""
    changes = {(c["type"], c["object_id"]): c for c in report["changes"]}
    assert deleted_users and all(changes[("user", uid)]["change"] == "deleted" for uid in deleted_users)
    gone = set(deleted_users) | {i for a in attacks for d in (a.soft_deleted, a.hard_deleted) for ids in d.values()
                                 for i in ids}
    for attack in attacks:
        for key in attack.touched():
            if key[0] in OBJECT_TYPES:  # not an added secret's keyId: that is the application's change below
                assert key in changes, (attack.name, key)
        for key, attributes in attack.changed.items():
            # Conditional Access lists of ids are reported as relationships (kind "ca:<property path>")
            reported = {a["name"].split(".")[0] for a in changes[key]["attributes"]} | {
                r["kind"][3:].split(".")[0] for r in changes[key]["relations"] if r["kind"].startswith("ca:")}
            assert set(attributes) <= reported, (attack.name, key, set(attributes) - reported)
        for relations, kind_of_change in ((attack.relations_removed, "removed"), (attack.relations_added, "added")):
            for kind, source, target in relations:
                if {source, target} & gone:
                    continue
                assert any(r["kind"] == kind and r["change"] == kind_of_change and r["other"]["object_id"] == other
                           for c in report["changes"] for r in c["relations"]
                           for mine, other in ((source, target), (target, source)) if c["object_id"] == mine), \
                    (attack.name, kind, source, target)


@pytest.mark.django_db(transaction=True)
def test_restores_of_audited_changes_and_of_the_whole_tenant_put_it_back_as_at_the_restore_point(
        backed_tenant, emulator, tmp_path, settings):
    """First the audited changes alone (records read from the log backup's index and chunks), then --all after
    a second attack (each attack first found in a compare report with production): each time the tenant equals
    the ground truth at the restore point."""
    tenant, _, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = log_repository_add(name="Audit logs", kind="directory", path=str(tmp_path / "logs"))
    log_job_create(tenant=tenant, primary=primary, log_types=["audit"], overlap_minutes=5)
    with backup_proxy(workers=1, ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache")):
        admin = GraphApp.register(emulator.url, emulator.ca_path, control, tid, ATTACKER_ROLES, "Tenant admin")
        prepared = prepare_nested_ca_group(admin, control.export(tid))
        admin.close()
        nested, policy = prepared["group"], prepared["policy"]
        truth = control.export(tid)
        rp = _backup(tenant)
        audited = _audited_attack(control, tid, truth)
        hard_user = _cloud_users(truth)[-8]["id"]
        call_command("logs_backup_run", tenant=tenant.name, wait=True, timeout=120, stdout=io.StringIO())
        reverted = _plan(tenant, tmp_path / "audit.json", "--audit-ids", *audited)
        _apply(tmp_path / "audit.json", reason="revert the audited attack")
        assert groundtruth.tenant_differences(truth, control.export(tid)) == []

        attacker = GraphApp.register(emulator.url, emulator.ca_path, control, tid, ATTACKER_ROLES)
        attacks = play_all(attacker, truth, prepared)  # through Graph, as a rogue application
        mass = control.mutate(tid, "mass_delete_users", count=4, seed=3)["changed"]
        control.mutate(tid, "hard_delete", id=hard_user)
        call_command("compare", "--tenant", tenant.name, "--from", str(rp), "--to", "production", "--format", "json",
                     "--output", str(tmp_path / "report.json"), stdout=io.StringIO())
        _every_attack_in_the_report(json.loads((tmp_path / "report.json").read_text()), attacks, [*mass, hard_user])
        plan = _plan(tenant, tmp_path / "plan.json", "--all", "--restore-point", str(rp))
        output = _apply(tmp_path / "plan.json")
        attacker.close()
    assert reverted["restore_point"]["id"] == rp and reverted["selection"]["audit_ids"] == audited
    assert {s["op"] for s in reverted["steps"]} == {"update", "link", "restore"}
    session = RestoreSession.objects.filter(tenant=tenant).order_by("-pk").first()
    assert session.status == "success", session.error
    assert nested in session.id_map and hard_user in session.id_map
    skipped = {(s["type"], s["object_id"], s["attribute"]) for s in plan["skipped"]}
    assert groundtruth.tenant_differences(truth, control.export(tid), remapped=session.id_map, skipped=skipped) == []
    assert {a.name for a in attacks} >= {"credential added to an application", "new Global Administrator"}
    secret = next(a for a in attacks if a.name == "credential added to an application").created["passwordCredential"]
    assert any(s["op"] == "remove_password" and s["body"] == {"keyId": secret[0]} for s in plan["steps"])
    steps = {(s["op"], s["object_id"]): s for s in plan["steps"]}
    assert steps[("update", policy)]["wave"] > steps[("create", nested)]["wave"]
    included = next(p for p in control.export(tid)["conditionalAccessPolicies"] if p["id"] == policy)
    assert session.id_map[nested] in included["conditions"]["users"]["includeGroups"]  # the include list remapped
    assert any(s["reason"] == objecttypes.READ_ONLY for s in plan["skipped"])
    creates = [s for s in plan["steps"] if s["op"] == "create" and s["type"] == "user"]
    assert creates and all(s["body"]["passwordProfile"] == {"forceChangePasswordNextSignIn": True,
                                                            "password": planner.PASSWORD_SLOT} for s in creates)
    assert "New users' passwords" in output and session.sealed_passwords == ""  # shown once, then erased
    intruder = [c for c in plan["created_after"] if c["type"] == "user"]
    assert intruder and all(c["deleted"] for c in intruder)
    assert {u["id"] for u in control.export(tid)["deletedItems"]["users"]} >= {c["id"] for c in intruder}
    _the_audit_trail_holds_every_step(session)


def _the_audit_trail_holds_every_step(session):
    trail = list(Entry.objects.filter(tenant_id=session.tenant_id).values_list("action", "result", "command"))
    assert {action for action, _, _ in trail} >= {
        "session.start", "session.finish", "restore.plan", "restore.apply", "export.compare",
        "export.restore_passwords"}
    assert ("restore.apply", "ok", "restore_apply") in trail and ("restore.plan", "ok", "restore_plan") in trail
    assert chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_changed_tenant_stops_the_apply_and_a_session_killed_midway_is_resumed_to_the_same_end_state(
        backed_tenant, emulator, tmp_path):
    tenant, _, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    try:
        with backup_proxy(workers=1, heartbeat=0.2, ENTRABACKUP_RESTORE_CHUNK_WRITES="10") as proxy:
            truth = control.export(tid)
            rp = _backup(tenant)
            deleted = control.mutate(tid, "mass_delete_users", count=30, seed=4)["changed"]
            _plan(tenant, tmp_path / "stale.json", "--all", "--restore-point", str(rp))
            control.mutate(tid, "restore_deleted", id=deleted[0])  # someone else restores one meanwhile
            with pytest.raises(CommandError, match="Production changed since the plan was made"):
                _apply(tmp_path / "stale.json")
            assert RestoreSession.objects.get().writes.exclude(status="pending").count() == 0  # nothing written
            plan = _plan(tenant, tmp_path / "plan.json", "--all", "--restore-point", str(rp))
            assert len(plan["steps"]) >= 29
            control.configure(tid, faults={"slow_rate": 1.0, "slow_seconds": 0.1, "seed": 3})
            call_command("restore_apply", str(tmp_path / "plan.json"), "--reason", "killed", stdout=io.StringIO())
            first = RestoreSession.objects.order_by("-pk").first()
            wait_for(lambda: first.writes.filter(status="done").exists(), 90, interval=0.05)
            os.killpg(proxy.pid, signal.SIGKILL)
            proxy.wait(10)
    finally:
        control.configure(tid, faults={"slow_rate": 0.0})
    first.refresh_from_db()
    assert first.status == "running" and first.writes.exclude(status__in=["done", "skipped"]).exists()
    assert sessions_interrupt_lost(tenant=tenant, now=first.heartbeat_at + timedelta(minutes=5)) == [first.pk]
    with backup_proxy(workers=1):
        _apply(tmp_path / "plan.json", reason="resume after the proxy died")
    second = RestoreSession.objects.order_by("-pk").first()
    assert second.resume_of_id == first.pk and second.status == "success", second.error
    assert groundtruth.tenant_differences(truth, control.export(tid), remapped=second.id_map) == []
