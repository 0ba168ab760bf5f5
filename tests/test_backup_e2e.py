"""Directory backups end to end: emulator -> a real proxy -> the repository -> export = ground truth.

Real processes: the Graph emulator, `manage.py qcluster` (the backup proxy), the local PostgreSQL, msal.
"""

import io
import json
import os
import signal
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from entrabackup import graph
from jobs.models import BackupSession
from jobs.runner import session_run
from jobs.services import session_create, sessions_enqueue_due, sessions_fail_over
from repositories.services import repository_conninfo, repository_store
from tenants import services
from tests.support.groundtruth import differences
from tests.support.processes import backup_proxy, wait_for

pytestmark = [pytest.mark.e2e]


def _differences(tenant, restore_point, path, truth):
    """Export the restore point with the command operators use and compare it with the emulator's truth."""
    call_command("restore_point_export", "--tenant", tenant.name, "--restore-point", str(restore_point),
                 "--output", str(path), stdout=io.StringIO())
    assert json.loads((path / "manifest.json").read_text())["tenant_id"] == tenant.directory_id
    return differences(path, truth)


def _backup(tenant, *extra) -> int:
    out = io.StringIO()
    call_command("backup_run", "--tenant", tenant.name, "--wait", "--timeout", "180", *extra, stdout=out)
    return int(out.getvalue().strip().splitlines()[-1].split()[-1])


@pytest.mark.django_db(transaction=True)
def test_full_then_incremental_backups_reproduce_the_tenant_at_each_restore_point(backed_tenant, emulator, tmp_path):
    tenant, job, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    with backup_proxy(workers=1):
        truth_1 = control.export(tid)
        first = _backup(tenant)
        users = [u for u in truth_1["users"] if not u.get("onPremisesSyncEnabled")]
        group = next(g for g, members in truth_1["group_members"].items() if members)
        control.mutate(tid, "update_user", id=users[0]["id"], properties={"jobTitle": "Chief Restorer", "department": "DR"})
        control.mutate(tid, "delete_user", id=users[1]["id"])
        control.mutate(tid, "hard_delete", id=users[2]["id"])
        control.mutate(tid, "remove_member", group_id=group, member_id=truth_1["group_members"][group][0])
        control.mutate(tid, "make_global_admin", user_id=users[3]["id"])
        control.mutate(tid, "disable_ca_policy", id=truth_1["conditionalAccessPolicies"][0]["id"])
        truth_2 = control.export(tid)
        second = _backup(tenant)

    assert second > first
    assert _differences(tenant, "latest", tmp_path / "2", truth_2) == []
    assert _differences(tenant, first, tmp_path / "1", truth_1) == []
    sessions = list(BackupSession.objects.filter(tenant=tenant).order_by("pk"))
    assert [s.ran_full for s in sessions] == [True, False]
    assert sessions[1].stats["user"]["changed"] >= 1 and sessions[1].stats["user"]["deleted"] == 2
    with repository_store(job.repository) as store:
        soft = store.get_object(str(tenant.key), second, "user", users[1]["id"])
        hard = store.get_object(str(tenant.key), second, "user", users[2]["id"])
    assert (soft.deleted, hard.deleted) == ("soft", "hard")
    assert sessions[1].graph_stats["requests"] < sessions[0].graph_stats["requests"]


@pytest.mark.django_db(transaction=True)
def test_backup_run_fails_with_the_reason_when_the_tenant_cannot_be_reached(backed_tenant, emulator):
    tenant, _, info = backed_tenant
    app = emulator.control.register_app(info["tenant_id"], roles=["Directory.Read.All"], display_name="elsewhere")
    services.tenant_set_connection(  # a tenant ID changes only together with the credential
        tenant=tenant, credential=graph.ClientSecret(app["client_secret"]), cloud=tenant.cloud,
        directory_id="00000000-1111-2222-3333-444444444444", authority_url=tenant.authority_url,
        graph_url=tenant.graph_url, ca_bundle_pem=tenant.ca_bundle_pem)
    with backup_proxy(workers=1), pytest.raises(CommandError, match="failed: Cannot connect"):
        _backup(tenant)
    session = BackupSession.objects.get(tenant=tenant, attempt=1)
    assert session.status == "failed" and session.restore_point_id is None
    assert session.failure == "permanent" and "Not retried" in session.error  # a wrong tenant stays wrong
    assert not BackupSession.objects.filter(retry_of=session).exists()


@pytest.mark.django_db(transaction=True)
def test_a_proxy_killed_with_changes_staged_leaves_one_open_version_per_object_after_the_retry(backed_tenant, emulator, tmp_path):
    """The kill lands after an earlier committed restore point, while the session's changed objects are staged:
    the retry must remove those staged rows, or an object keeps two open versions (docs/repository.md)."""
    tenant, job, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    with backup_proxy(workers=1):
        truth_1 = control.export(tid)
        first = _backup(tenant)
    touched = _churn(control, tid, truth_1)
    truth_2 = control.export(tid)
    # Slow responses stretch the session, so the kill lands between staging and the commit.
    control.configure(tid, faults={"slow_rate": 1.0, "slow_seconds": 0.1, "seed": 3})
    try:
        with backup_proxy(workers=1) as proxy:
            session = session_create(job=job, kind="incremental")
            wait_for(lambda: _staged(job.repository, session, touched["staged"]) == touched["staged"], 90, interval=0.1)
            os.killpg(proxy.pid, signal.SIGKILL)
            proxy.wait(10)
    finally:
        control.configure(tid, faults={"slow_rate": 0.0})
    assert _staged(job.repository, session, touched["staged"]) == touched["staged"]  # left behind by the kill
    with repository_store(job.repository) as store:
        assert [rp.id for rp in store.restore_points(str(tenant.key))] == [first]

    retries = sessions_fail_over(now=timezone.now() + timedelta(minutes=5))
    session.refresh_from_db()
    assert session.status == "interrupted" and "stopped reporting" in session.error
    assert [r.retry_of_id for r in retries] == [session.pk]
    assert retries[0].not_before is not None  # a lost proxy is transient: retried after a pause
    assert sessions_enqueue_due(now=retries[0].not_before) == [retries[0].pk]
    with backup_proxy(workers=1):
        retry = wait_for(lambda: BackupSession.objects.filter(pk=retries[0].pk, status__in=BackupSession.FINISHED).first(), 120)
    assert retry.status == "success", retry.error
    assert retry.ran_full is False and retry.restore_point_id > first
    assert _repository_anomalies(job.repository, tenant) == {
        "objects open twice": [], "relations open twice": [], "rows of uncommitted restore points": 0}
    assert _differences(tenant, "latest", tmp_path / "2", truth_2) == []
    assert _differences(tenant, first, tmp_path / "1", truth_1) == []


def _churn(control, tid: str, truth: dict) -> dict:
    """Change, create and delete users and memberships; returns the ids whose new versions get staged."""
    users = [u for u in truth["users"] if not u.get("onPremisesSyncEnabled")]
    assigned = [g["id"] for g in truth["groups"] if not g.get("membershipRule") and not g.get("onPremisesSyncEnabled")
                and 1 < len(truth["group_members"].get(g["id"], [])) < len(truth["users"])]
    group = assigned[0]
    outsider = next(u["id"] for u in users[5:] if u["id"] not in truth["group_members"][group])
    control.mutate(tid, "update_user", id=users[0]["id"], properties={"jobTitle": "Chief Restorer", "department": "DR"})
    control.mutate(tid, "update_user", id=users[3]["id"], properties={"officeLocation": "Bunker 2"})
    new = control.mutate(tid, "create_user", given_name="Kill", surname="Switch", seed=7)["changed"][0]
    control.mutate(tid, "delete_user", id=users[1]["id"])
    control.mutate(tid, "hard_delete", id=users[2]["id"])
    control.mutate(tid, "remove_member", group_id=group, member_id=truth["group_members"][group][0])
    control.mutate(tid, "add_member", group_id=group, member_id=outsider)
    return {"staged": {users[0]["id"], users[3]["id"], new}, "deleted": {users[1]["id"], users[2]["id"]}}


def _staged(repository, session, ids: set[str]) -> set[str]:
    """Which of these objects have a version staged under the session's restore point (not committed)."""
    with psycopg.connect(repository_conninfo(repository)) as conn:
        rows = conn.execute(
            "SELECT v.object_id FROM object_version v JOIN restore_point r ON r.id = v.valid_from"
            " AND r.tenant_id = v.tenant_id WHERE r.session_key = %s AND r.state = 'staging'"
            " AND v.object_id = ANY(%s)", [f"session-{session.pk}", list(ids)]).fetchall()
    return {object_id for (object_id,) in rows}


def _repository_anomalies(repository, tenant) -> dict:
    """What a dead session's leftovers would show: objects or pairs with two current versions, or rows
    written by a restore point that never committed."""
    with psycopg.connect(repository_conninfo(repository)) as conn:
        tenant_id = conn.execute("SELECT id FROM tenant WHERE key = %s", [str(tenant.key)]).fetchone()[0]
        objects = conn.execute(
            "SELECT object_type, object_id FROM object_version WHERE tenant_id = %s AND valid_to IS NULL"
            " GROUP BY 1, 2 HAVING count(*) > 1", [tenant_id]).fetchall()
        relations = conn.execute(
            "SELECT kind, source_id, target_id FROM relation_version WHERE tenant_id = %s AND valid_to IS NULL"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1", [tenant_id]).fetchall()
        uncommitted = sum(conn.execute(
            f"SELECT count(*) FROM {table} v WHERE tenant_id = %s AND NOT EXISTS (SELECT 1 FROM restore_point r"  # noqa: S608
            " WHERE r.id = v.valid_from AND r.state = 'committed')", [tenant_id]).fetchone()[0]
            for table in ("object_version", "relation_version"))
    return {"objects open twice": objects, "relations open twice": relations,
            "rows of uncommitted restore points": uncommitted}


@pytest.mark.django_db
def test_a_throttling_storm_slows_full_and_incremental_sessions_but_never_corrupts_them(backed_tenant, emulator, tmp_path):
    """The emulator's resource-unit bucket holds 4 units refilled every half second, far below what a session
    asks for, so both sessions meet real 429s (with Retry-After, also inside $batch), on top of injected 5xx,
    dropped connections and truncated bodies."""
    tenant, job, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    control.configure(tid, throttling={"enabled": True, "ru_per_10s": 4, "ru_window_seconds": 0.5},
                      faults={"error_rate": 0.03, "reset_rate": 0.02, "truncate_rate": 0.02, "seed": 11})
    try:
        truth_1 = control.export(tid)
        full = _run_session(job)
        assert full.status == "success", full.error
        _churn(control, tid, truth_1)
        truth_2 = control.export(tid)
        incremental = _run_session(job)
    finally:
        control.configure(tid, throttling={"enabled": False},
                          faults={"error_rate": 0.0, "reset_rate": 0.0, "truncate_rate": 0.0})
    assert incremental.status == "success", incremental.error
    for session in (full, incremental):
        assert session.graph_stats["throttled_429"] > 10, session.graph_stats
    assert (full.ran_full, incremental.ran_full) == (True, False)
    assert _differences(tenant, incremental.restore_point_id, tmp_path / "2", truth_2) == []
    assert _differences(tenant, full.restore_point_id, tmp_path / "1", truth_1) == []


def _run_session(job) -> BackupSession:
    session = session_create(job=job)
    session_run(session_id=session.pk)
    session.refresh_from_db()
    return session



@pytest.mark.django_db
def test_explorer_finds_objects_as_of_a_restore_point_and_shows_their_history(backed_tenant, emulator, client, admin_persona):
    from django.urls import reverse

    tenant, job, info = backed_tenant
    first = session_create(job=job)
    session_run(session_id=first.pk)
    user = next(u for u in emulator.control.export(info["tenant_id"])["users"] if not u.get("onPremisesSyncEnabled"))
    emulator.control.mutate(info["tenant_id"], "update_user", id=user["id"], properties={"jobTitle": "Head of Recovery"})
    second = session_create(job=job)
    session_run(session_id=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()

    client.force_login(admin_persona)
    explorer = reverse("restore:object_explorer", args=[tenant.pk])
    found = client.get(explorer, {"q": user["userPrincipalName"].upper(), "rp": first.restore_point_id}).content.decode()
    assert user["displayName"] in found and "1 object as of" in found
    by_id = client.get(explorer, {"q": user["id"], "type": "user"}, HTTP_HX_REQUEST="true").content.decode()
    assert by_id.startswith('<section id="object-rows">') and user["displayName"] in by_id
    detail = reverse("restore:object_detail", args=[tenant.pk, "user", user["id"]])
    now = client.get(detail, {"rp": second.restore_point_id}).content.decode()
    before = client.get(detail, {"rp": first.restore_point_id}).content.decode()
    # The properties as of each restore point (the history below them shows every version on both pages)
    assert "Head of Recovery" in _properties(now) and "Head of Recovery" not in _properties(before)
    assert "jobTitle" in now  # the history names the changed property
    points = client.get(reverse("restore:restore_point_list", args=[tenant.pk])).content.decode()
    assert f"<td>{second.restore_point_id}</td>" in points and f"<td>{first.restore_point_id}</td>" in points


def _properties(page: str) -> str:
    """The object's properties block of its detail page."""
    return page.split('<pre class="json">', 1)[1].split("</pre>", 1)[0]


@pytest.mark.django_db
def test_removing_a_tenant_from_a_repository_is_clean(backed_tenant):
    tenant, job, _ = backed_tenant
    session = session_create(job=job)
    session_run(session_id=session.pk)
    with pytest.raises(CommandError, match="add --yes"):
        call_command("repository_tenant_purge", "--repository", job.repository.name, "--tenant", tenant.name)
    call_command("repository_tenant_purge", "--repository", job.repository.name, "--tenant", tenant.name, "--yes",
                 stdout=io.StringIO())
    with repository_store(job.repository) as store:
        assert store.restore_points(str(tenant.key)) == []
    with psycopg.connect(repository_conninfo(job.repository)) as conn:
        assert conn.execute("SELECT count(*) FROM tenant WHERE key = %s", [str(tenant.key)]).fetchone()[0] == 0
        for table in ("object_version", "relation_version", "restore_point", "sync_state"):
            orphans = f"SELECT count(*) FROM {table} WHERE tenant_id NOT IN (SELECT id FROM tenant)"  # noqa: S608
            assert conn.execute(orphans).fetchone()[0] == 0


@pytest.mark.django_db
def test_retention_by_restore_points_keeps_the_newest_and_what_it_needs(backed_tenant, emulator, tmp_path):
    tenant, job, info = backed_tenant
    job.retention_points = 2
    job.save()
    users = [u for u in emulator.control.export(info["tenant_id"])["users"] if not u.get("onPremisesSyncEnabled")]
    points = []
    for n in range(3):
        emulator.control.mutate(info["tenant_id"], "update_user", id=users[n]["id"], properties={"officeLocation": f"Room {n}"})
        session = session_create(job=job)
        session_run(session_id=session.pk)
        session.refresh_from_db()
        points.append(session.restore_point_id)
    with repository_store(job.repository) as store:
        kept = [rp.id for rp in store.restore_points(str(tenant.key))]
    assert kept == points[:0:-1]  # the two newest, newest first
    assert "Retention:" in session.log
    assert _differences(tenant, "latest", tmp_path / "x", emulator.control.export(info["tenant_id"])) == []
