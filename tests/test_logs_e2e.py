"""Log backup end to end: a real proxy (`manage.py qcluster`), the Graph emulator process with per-record
arrival delays, real directory log repositories, the local PostgreSQL. What was stored is read back with
`manage.py logs_export` and compared with what the emulator serves once every record has arrived."""

import json
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dashboard.demo import DEMO_ROLES as FULL_ROLES
from jobs.logbackup import index as logindex
from jobs.logbackup.services import log_job_create, log_session_cancel, log_sessions_fail_over
from jobs.logbackup.types import LOG_TYPES
from jobs.logrunner import log_session_run
from jobs.models import LogJob, LogSession
from repositories.log_services import log_repository_add, log_repository_open
from tenants import services
from tenants.services import tenant_graph_client
from tests.support.processes import backup_proxy, wait_for

pytestmark = [pytest.mark.e2e]
# Seconds instead of minutes, so the test need not wait: most records within 2 s, a tail up to 12 s.
DELAYS = {"enabled": True, "seed": 5, "quantiles": [[0.0, 0.0], [0.5, 1.0], [0.95, 4.0], [1.0, 12.0]]}


@pytest.fixture
def log_setup(backed_tenant, emulator, tmp_path, settings):
    tenant, _, info = backed_tenant
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = log_repository_add(name="Primary", kind="directory", path=str(tmp_path / "primary"))
    secondary = log_repository_add(name="Secondary", kind="directory", path=str(tmp_path / "secondary"))
    emulator.control.configure(info["tenant_id"], arrival_delays=DELAYS)
    job = log_job_create(tenant=tenant, primary=primary, secondary=secondary, log_types=["audit"], overlap_minutes=5)
    yield tenant, job, info, tmp_path
    emulator.control.configure(info["tenant_id"], arrival_delays={"enabled": False}, faults={"slow_rate": 0.0})


def _served(tenant, key="audit") -> set[str]:
    """The ground truth: every record Graph serves now (no cache, no overlap)."""
    path = "/auditLogs/directoryAudits" if key == "audit" else "/auditLogs/signIns"
    with tenant_graph_client(tenant) as client:
        return {r["id"] for r in client.iter_values(path, params={"$top": "1000"})}


def _exported(tenant, tmp_path, repository, kind="audit") -> list[str]:
    out = tmp_path / f"export-{repository}-{time.monotonic_ns()}.json"
    start = (timezone.now() - timedelta(days=31)).isoformat()
    call_command("logs_export", tenant=tenant.name, type=kind, start=start, end=timezone.now().isoformat(),
                 format="json", output=str(out), repository=repository)
    return [r["id"] for r in json.loads(out.read_text())]


def _indexed(tenant, key="audit") -> list[str]:
    """The record ids the log index holds for the tenant (jobs/logbackup/index.py)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.record_id FROM jobs_logrecord r JOIN jobs_logchunk c ON c.id = r.chunk_id "
                       "WHERE r.tenant_id = %s AND c.log_type = %s", [tenant.pk, key])
        return [row[0] for row in cursor.fetchall()]


def _run(tenant):
    call_command("logs_backup_run", tenant=tenant.name, wait=True, timeout=180)
    return LogSession.objects.filter(tenant=tenant).first()


@pytest.mark.django_db(transaction=True)
def test_repeated_overlapping_sessions_store_every_served_record_exactly_once(log_setup, emulator):
    tenant, job, info, tmp_path = log_setup
    users = [u["id"] for u in emulator.control.export(info["tenant_id"])["users"]][:8]
    with backup_proxy(ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache")):
        sessions = []
        for round_ in range(3):
            for uid in users:
                emulator.control.mutate(info["tenant_id"], "update_user", id=uid, properties={"jobTitle": f"r{round_}"})
            sessions.append(_run(tenant))
        time.sleep(13)  # every record has arrived
        sessions.append(_run(tenant))
    assert all(s.status == "success" for s in sessions), [s.log for s in sessions]
    assert sum(s.stats["audit"]["duplicates"] for s in sessions) > 0  # overlapping reads met records again
    primary = _exported(tenant, tmp_path, "Primary")
    assert len(primary) == len(set(primary)) and set(primary) == _served(tenant)
    assert sorted(_exported(tenant, tmp_path, "Secondary")) == sorted(primary)
    assert sorted(_indexed(tenant)) == sorted(primary)  # the primary's records, each once


@pytest.mark.django_db(transaction=True)
def test_a_proxy_killed_while_writing_chunks_loses_and_duplicates_nothing(log_setup, emulator):
    tenant, job, info, tmp_path = log_setup
    emulator.control.configure(info["tenant_id"], signins_per_minute=0.05,
                               faults={"slow_rate": 1.0, "slow_seconds": 0.3, "seed": 1})
    LogJob.objects.filter(pk=job.pk).update(log_types=["signin"], secondary=None)
    with backup_proxy(ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache")) as proxy:
        call_command("logs_backup_run", tenant=tenant.name)
        session = wait_for(lambda: LogSession.objects.filter(tenant=tenant, status="running").first(), 60)
        with log_repository_open(job.primary) as store:
            wait_for(lambda: len(store.manifests(str(tenant.key), "signin")) >= 2, 120)
        os.killpg(proxy.pid, signal.SIGKILL)  # mid-session: some slices stored, the rest not
    assert log_sessions_fail_over(now=timezone.now() + timedelta(minutes=5)) == [session.pk]
    emulator.control.configure(info["tenant_id"], faults={"slow_rate": 0.0})
    with backup_proxy(ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache")):
        time.sleep(13)
        after = _run(tenant)
    assert after.status == "success", after.log
    stored = _exported(tenant, tmp_path, "Primary", kind="signin")
    assert len(stored) == len(set(stored)) and set(stored) == _served(tenant, "signin")
    assert sorted(_indexed(tenant, "signin")) == sorted(stored)  # chunks the killed proxy left unindexed too


@pytest.mark.django_db(transaction=True)
def test_the_secondary_catches_up_after_an_outage(log_setup, emulator):
    tenant, job, info, tmp_path = log_setup
    secondary = tmp_path / "secondary"
    with backup_proxy(ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache")):
        _run(tenant)
        secondary.rename(tmp_path / "away")  # the secondary's mount is gone: a plain file stands in its place
        secondary.write_text("not a directory")
        try:
            emulator.control.mutate(info["tenant_id"], "update_user",
                                    id=emulator.control.export(info["tenant_id"])["users"][0]["id"],
                                    properties={"jobTitle": "During the outage"})
            time.sleep(13)
            down = _run(tenant)
        finally:
            secondary.unlink()
            (tmp_path / "away").rename(secondary)
        up = _run(tenant)
    assert down.status == "warning" and any("Secondary" in w for w in down.warnings), down.log
    assert up.status == "success" and up.stats["audit"]["copied"] > 0, up.log
    assert sorted(_exported(tenant, tmp_path, "Secondary")) == sorted(_exported(tenant, tmp_path, "Primary"))


@pytest.mark.django_db(transaction=True)
def test_sign_ins_without_a_licence_fail_alone_and_the_session_ends_with_a_warning(emulator, clean_repository_database,
                                                                                  tmp_path, settings):
    settings.CACHE_DIR = tmp_path / "cache"
    info = emulator.control.create_tenant(seed=4242, users=20, licence="free")
    app = emulator.control.register_app(info["tenant_id"], roles=FULL_ROLES, display_name="entrabackup e2e")
    tenant = services.tenant_create(
        name="Free tenant", directory_id=info["tenant_id"], client_id=app["client_id"],
        credential=services.graph.ClientSecret(app["client_secret"]), cloud="custom", authority_url=emulator.url,
        graph_url=emulator.url, ca_bundle_pem=Path(emulator.ca_path).read_text())
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = log_repository_add(name="Free primary", kind="directory", path=str(tmp_path / "primary"))
    job = log_job_create(tenant=tenant, primary=primary, log_types=["audit", "signin", "signin-noninteractive"])
    session = LogSession.objects.create(job=job, tenant=tenant)
    done = log_session_run(session_id=session.pk)
    assert done.status == "warning", done.log
    assert list(done.stats) == ["audit"] and done.stats["audit"]["new"] > 0
    assert len(done.warnings) == 2 and all("licen" in w.lower() for w in done.warnings), done.warnings


@pytest.mark.django_db(transaction=True)
def test_retention_removes_whole_days_from_the_repository_and_the_index_and_only_those(log_setup, settings):
    tenant, job, info, tmp_path = log_setup
    settings.CACHE_DIR = tmp_path / "cache"
    today = timezone.now().date()
    old, kept = today - timedelta(days=10), today - timedelta(days=2)
    with log_repository_open(job.primary) as store:
        for n, day in enumerate((old, kept)):
            at = f"{day.isoformat()}T12:00:00.0000000Z"
            record = {"id": f"old-{n}", "activityDateTime": at, "category": "UserManagement"}
            manifest = store.write_chunk(tenant=str(tenant.key), log_type="audit", day=day, session="seed",
                                         records=[record])
            logindex.index_chunk(tenant_id=tenant.pk, log_type=LOG_TYPES["audit"], repository=str(job.primary.pk),
                                 chunk=manifest.chunk, records=[record])
    job.primary.retention_days = 5
    job.primary.save()
    session = LogSession.objects.create(job=job, tenant=tenant)
    done = log_session_run(session_id=session.pk)
    assert done.status == "success", done.log
    with log_repository_open(job.primary) as store:
        days = {m.day for m in store.manifests(str(tenant.key), "audit")}
    assert old not in days and kept in days  # whole days past the retention go, the others stay
    with connection.cursor() as cursor:
        cursor.execute("SELECT at::date, count(*) FILTER (WHERE tenant_id = %s), count(*) FROM jobs_logrecord "
                       "WHERE at >= %s AND at < %s GROUP BY 1", [tenant.pk, old, kept + timedelta(days=1)])
        per_day = {day: (ours, everyone) for day, ours, everyone in cursor.fetchall()}
    assert old not in per_day or per_day[old][0] == 0  # the tenant's old day is gone from the index
    assert per_day[kept][0] == 1
    # The day's partition itself is dropped once no tenant has rows in it (other tests' tenants may).
    assert (old in logindex.partitions()) == (old in per_day)


@pytest.mark.django_db(transaction=True)
def test_a_running_log_session_stops_at_the_next_page_when_cancelled(log_setup, emulator, settings, admin_persona):
    tenant, job, info, tmp_path = log_setup
    settings.CACHE_DIR = tmp_path / "cache"
    emulator.control.configure(info["tenant_id"], signins_per_minute=0.05,
                               faults={"slow_rate": 1.0, "slow_seconds": 0.3, "seed": 2})
    LogJob.objects.filter(pk=job.pk).update(log_types=["signin", "audit"])
    session = LogSession.objects.create(job=job, tenant=tenant)
    def run_in_thread():
        try:
            log_session_run(session_id=session.pk)
        finally:
            connection.close()  # this thread's own connection

    runner = threading.Thread(target=run_in_thread)
    runner.start()
    wait_for(lambda: LogSession.objects.get(pk=session.pk).status == "running", 30)
    assert log_session_cancel(session=session, user=admin_persona)
    runner.join(60)
    done = LogSession.objects.get(pk=session.pk)
    assert done.status == "cancelled" and "audit" not in done.stats, done.log
    assert "Cancel requested by alice" in done.log
    assert done.ended_at - done.cancelled_at < timedelta(seconds=5)  # at the next page, not after the log type
