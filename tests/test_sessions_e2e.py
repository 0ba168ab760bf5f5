"""Sessions end to end: a cancel that stops a real proxy mid-read, repository failures classified and retried.

Real processes and servers: the Graph emulator, `manage.py qcluster`, the local PostgreSQL, a TCP port on
which nothing listens.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audittrail.models import Entry
from entrabackup import localdb
from jobs.backup import OBJECT_TYPES
from jobs.models import BackupSession
from jobs.runner import session_run
from jobs.services import session_cancel, session_create
from repositories.models import Repository
from repositories.services import repository_store
from repositories.store.writer import SessionWriter
from tests.support.processes import backup_proxy, wait_for
from tests.support.repositories import closed_port, remote_repository_with_password

pytestmark = [pytest.mark.e2e]


@pytest.mark.django_db(transaction=True)
def test_a_session_cancelled_a_second_after_it_started_stops_mid_read_and_names_who(backed_tenant, emulator, client,
                                                                                      admin_persona):
    tenant, job, info = backed_tenant
    # Every Graph response is slowed, so a second into the session it is still reading its first types.
    emulator.control.configure(info["tenant_id"], faults={"slow_rate": 1.0, "slow_seconds": 0.1, "seed": 5})
    client.force_login(admin_persona)
    try:
        with backup_proxy(workers=1, heartbeat=5.0):  # the default: a cancel must not wait for a beat
            session = session_create(job=job, kind="full")
            wait_for(lambda: BackupSession.objects.get(pk=session.pk).status == "running")
            wait_for(lambda: BackupSession.objects.get(pk=session.pk).progress.get("read"), 10)  # mid-read
            client.post(reverse("jobs:session_cancel", args=[session.pk]))
            done = wait_for(lambda: BackupSession.objects.filter(pk=session.pk, status__in=BackupSession.FINISHED).first(), 60)
    finally:
        emulator.control.configure(info["tenant_id"], faults={"slow_rate": 0.0})
    assert done.status == "cancelled" and done.restore_point_id is None, done.log
    assert done.cancelled_by == admin_persona
    assert done.ended_at - done.cancelled_at < timedelta(seconds=3)  # the next page, not the end of the session
    assert "Cancel requested by alice at " in done.log and "Finished: Cancelled - Cancelled by alice at " in done.log
    assert "no restore point was kept" in done.error and "Restore point" not in done.log
    assert len(done.stats) < len(OBJECT_TYPES)  # it stopped part-way
    target = f"backup session {session.pk}"
    assert set(Entry.objects.filter(target=target).values_list("action", "result", "username")) == {
        ("session.start", "ok", ""), ("session.cancel", "ok", "alice"), ("session.finish", "cancelled", "")}
    with repository_store(job.repository) as store:
        assert store.restore_points(str(tenant.key)) == []


@pytest.mark.django_db(transaction=True)
def test_a_cancel_that_arrives_after_the_commit_says_the_restore_point_was_kept(backed_tenant, admin_persona, monkeypatch):
    tenant, job, _ = backed_tenant
    session = session_create(job=job)
    commit = SessionWriter.commit

    def commit_then_cancel(writer, stats=None):
        restore_point = commit(writer, stats)
        session_cancel(session=session, user=admin_persona)  # the operator pressed Cancel a moment too late
        return restore_point

    monkeypatch.setattr(SessionWriter, "commit", commit_then_cancel)
    done = session_run(session_id=session.pk)
    assert done.status == "success" and done.restore_point_id
    assert "Cancelled by alice at " in done.log
    assert f"after restore point {done.restore_point_id} was committed: the restore point is complete and kept" in done.log




@pytest.mark.django_db(transaction=True)
def test_an_unreachable_repository_fails_the_session_with_the_reason_and_is_retried_later(backed_tenant):
    tenant, job, _ = backed_tenant
    port = closed_port()
    job.repository = remote_repository_with_password(password="Offsite-pw", name="Offsite", host="127.0.0.1", port=port,
                                               database="entrabackup_repo", user="backup", sslmode="verify-full")
    job.save()
    session = session_create(job=job)
    done = session_run(session_id=session.pk)
    assert done.status == "failed" and done.failure == "transient"
    assert done.error.startswith("Repository Offsite is unreachable: ") and "connection refused" in done.error
    assert f"127.0.0.1:{port}" in done.error and "StoreError" not in done.error
    retry = BackupSession.objects.get(retry_of=done)
    assert retry.status == "queued" and retry.not_before > timezone.now() + timedelta(seconds=30)
    assert session_run(session_id=retry.pk) is None  # not before its time


@pytest.mark.django_db(transaction=True)
def test_a_repository_that_refuses_the_user_fails_for_good(backed_tenant):
    tenant, job, _ = backed_tenant
    server = localdb.ensure_running(settings.LOCALDB_PGDATA)
    job.repository = Repository.objects.create(name="Wrong user", kind="remote", host=str(server.socket_dir),
                                               port=server.port, database=settings.REPOSITORY_DEFAULT_DATABASE,
                                               user="nobody_here", sslmode="disable")
    job.save()
    done = session_run(session_id=session_create(job=job).pk)
    assert done.status == "failed" and done.failure == "permanent"
    assert done.error.startswith("Repository Wrong user refused the connection: ") and "does not know this user" in done.error
    assert "Not retried" in done.error and not BackupSession.objects.filter(retry_of=done).exists()
