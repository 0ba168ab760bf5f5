"""Directory backups end to end: emulator -> a real proxy -> the repository -> export = ground truth.

Real processes: the Graph emulator, `manage.py qcluster` (the backup proxy), the local PostgreSQL, msal.
"""

import io
import json
import os
import signal
import time
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
from tests.support.processes import backup_proxy

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
@pytest.mark.parametrize("kill_after", [0.3, 1.2])
def test_a_proxy_killed_mid_session_leaves_no_restore_point_and_the_retry_succeeds(backed_tenant, emulator, tmp_path, kill_after):
    tenant, job, info = backed_tenant
    # Slow responses stretch the session so the kill lands while it reads and writes.
    emulator.control.configure(info["tenant_id"], faults={"slow_rate": 1.0, "slow_seconds": 0.05, "seed": 3})
    with backup_proxy(workers=1) as proxy:
        session = session_create(job=job, kind="full")
        _wait_for(lambda: BackupSession.objects.get(pk=session.pk).status == "running")
        time.sleep(kill_after)
        os.killpg(proxy.pid, signal.SIGKILL)
        proxy.wait(10)
    session.refresh_from_db()
    assert session.status == "running"  # nobody told the server yet
    with repository_store(job.repository) as store:
        assert store.restore_points(str(tenant.key)) == []
    retries = sessions_fail_over(now=timezone.now() + timedelta(minutes=5))
    session.refresh_from_db()
    assert session.status == "interrupted" and "stopped reporting" in session.error
    assert [r.retry_of_id for r in retries] == [session.pk]
    assert retries[0].not_before is not None  # a lost proxy is transient: retried after a pause
    assert sessions_enqueue_due(now=retries[0].not_before) == [retries[0].pk]
    emulator.control.configure(info["tenant_id"], faults={"slow_rate": 0.0})
    with backup_proxy(workers=1):
        retry = _wait_for(lambda: BackupSession.objects.filter(pk=retries[0].pk, status__in=BackupSession.FINISHED).first(), 120)
    assert retry.status == "success", retry.error
    assert _differences(tenant, "latest", tmp_path / "x", emulator.control.export(info["tenant_id"])) == []


@pytest.mark.django_db
def test_throttling_storms_and_injected_faults_slow_a_session_but_never_corrupt_it(backed_tenant, emulator, tmp_path):
    tenant, job, info = backed_tenant
    emulator.control.configure(info["tenant_id"], throttling={"enabled": True, "ru_per_10s": 60},
                               faults={"error_rate": 0.08, "reset_rate": 0.04, "truncate_rate": 0.04, "seed": 11})
    try:
        session = session_create(job=job, kind="full")
        session_run(session_id=session.pk)
    finally:
        emulator.control.configure(info["tenant_id"], throttling={"enabled": False},
                                   faults={"error_rate": 0.0, "reset_rate": 0.0, "truncate_rate": 0.0})
    session.refresh_from_db()
    assert session.status == "success", session.error
    assert session.graph_stats["retries"] > 0
    assert _differences(tenant, "latest", tmp_path / "x", emulator.control.export(info["tenant_id"])) == []


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


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
    assert "Head of Recovery" in now and "Head of Recovery" not in before
    assert "jobTitle" in now  # the history names the changed property
    points = client.get(reverse("restore:restore_point_list", args=[tenant.pk])).content.decode()
    assert f"<td>{second.restore_point_id}</td>" in points and f"<td>{first.restore_point_id}</td>" in points


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
