"""Each tenant's summary row (what the home page judges a thousand tenants by) always says what a fresh look at
its sessions says: after a success, a failure and its retry, a cancel, a fail-over, a log session, a job removed
with its sessions, and a tenant removed."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jobs import logrunner, runner, services
from jobs.logbackup.services import log_sessions_fail_over
from jobs.models import BackupJob, BackupSession, LogJob, LogSession, TenantSummary
from repositories.models import LogRepository, Repository
from tenants.models import Tenant


def _fresh(tenant) -> tuple:
    """What the sessions say, read the slow way: newest by (queued_at, id), as the Sessions page orders them."""
    newest = ("-queued_at", "-id")
    backup = BackupSession.objects.filter(tenant=tenant, status__in=BackupSession.FINISHED).order_by(*newest).first()
    point = BackupSession.objects.filter(tenant=tenant, restore_point_id__isnull=False).order_by(*newest).first()
    log = LogSession.objects.filter(tenant=tenant, status__in=LogSession.FINISHED).order_by(*newest).first()
    return (backup and backup.pk, backup and backup.status, point and point.ended_at, log and log.pk,
            log and log.status)


def _summary(tenant) -> tuple:
    row = TenantSummary.objects.filter(tenant_id=tenant.pk).first()
    if row is None:
        return (None,) * 5
    return row.last_backup_id, row.last_backup_status, row.newest_point_at, row.last_log_id, row.last_log_status


def _agrees(*tenants) -> None:
    for tenant in tenants:
        assert _summary(tenant) == _fresh(tenant), tenant.name


@pytest.fixture
def tenants(db, monkeypatch):
    monkeypatch.setattr(services, "session_enqueue", lambda session: None)
    repository = Repository.objects.create(name="Local", database="unused_by_this_test")
    logs = LogRepository.objects.create(name="Logs", path="/tmp/unused")
    made = []
    for name in ("Alpha", "Beta"):
        tenant = Tenant.objects.create(name=name, directory_id=f"{name}.example", credential_type="secret",
                                       client_id="11111111-2222-3333-4444-555555555555",
                                       credential_updated_at=timezone.now())
        BackupJob.objects.create(name=f"{name} job", tenant=tenant, repository=repository, retries=1)
        LogJob.objects.create(tenant=tenant, primary=logs)
        made.append(tenant)
    return made


def _start(tenant) -> BackupSession:
    session = services.session_create(job=tenant.backup_jobs.get())
    BackupSession.objects.filter(pk=session.pk).update(status="running", started_at=timezone.now(),
                                                       heartbeat_at=timezone.now())
    return session


def test_summary_follows_success_failure_retry_and_cancel(tenants):
    alpha, beta = tenants
    _agrees(alpha, beta)  # nothing ran yet: no row, or an empty one
    ok = _start(alpha)
    runner._finish(ok, BackupSession.Status.SUCCESS, restore_point_id=41)
    ok.refresh_from_db()
    _agrees(alpha, beta)
    assert _summary(alpha)[:2] == (ok.pk, "success") and _summary(beta) == (None,) * 5
    bad = _start(alpha)
    runner._finish(bad, BackupSession.Status.FAILED, error="Graph answered 503.", failure="transient")
    bad.refresh_from_db()
    retry = services.session_retry(bad)  # queued: the last finished one is still the failure
    _agrees(alpha)
    assert _summary(alpha)[:3] == (bad.pk, "failed", ok.ended_at) and retry.status == "queued"
    assert services.session_cancel(session=retry)
    _agrees(alpha)
    assert _summary(alpha)[:2] == (retry.pk, "cancelled")


def test_summary_follows_fail_over_log_sessions_and_removals(tenants, settings):
    alpha, beta = tenants
    ok = _start(beta)
    runner._finish(ok, BackupSession.Status.WARNING, restore_point_id=7)
    stale = _start(beta)
    long_ago = timezone.now() - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT + 60)
    BackupSession.objects.filter(pk=stale.pk).update(heartbeat_at=long_ago)
    services.sessions_fail_over()
    _agrees(alpha, beta)
    assert _summary(beta)[:2] == (stale.pk, "interrupted")
    log = LogSession.objects.create(job=beta.log_jobs.get(), tenant=beta, status="running", heartbeat_at=long_ago)
    log_sessions_fail_over()
    _agrees(beta)
    assert _summary(beta)[3:] == (log.pk, "interrupted")
    log = LogSession.objects.create(job=beta.log_jobs.get(), tenant=beta, status="running")
    logrunner._finish(log, LogSession.Status.SUCCESS, stats={})
    _agrees(alpha, beta)
    assert _summary(beta)[3:] == (log.pk, "success")
    BackupSession.objects.filter(pk=stale.pk).delete()  # the earlier result shows again
    _agrees(beta)
    assert _summary(beta)[:2] == (ok.pk, "warning")
    beta.backup_jobs.get().delete()  # removing a job removes its sessions
    _agrees(beta)
    assert _summary(beta)[:3] == (None, None, None)
    beta.delete()
    assert not TenantSummary.objects.filter(tenant_id=beta.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_backup_and_a_log_session_ending_at_once_both_show(tenants):
    """The log session's end recomputes while the backup session's end is not committed yet: it waits for the
    summary row, then sees it (without the row lock it would write back the backup result it saw before)."""
    alpha = tenants[0]
    LogSession.objects.create(job=alpha.log_jobs.get(), tenant=alpha, status="failed")  # the summary row exists
    backup = BackupSession.objects.create(job=alpha.backup_jobs.get(), tenant=alpha, status="running")
    log = LogSession.objects.create(job=alpha.log_jobs.get(), tenant=alpha, status="running")
    done = threading.Event()

    def end_log():
        try:
            LogSession.objects.filter(pk=log.pk).update(status="success", ended_at=timezone.now())
        finally:
            connection.close()
            done.set()

    with transaction.atomic():
        BackupSession.objects.filter(pk=backup.pk).update(status="success", ended_at=timezone.now(),
                                                          restore_point_id=3)
        threading.Thread(target=end_log).start()
        assert not done.wait(0.5)  # the log session's statement waits for this transaction
    assert done.wait(10)
    _agrees(alpha)
    assert _summary(alpha)[:2] == (backup.pk, "success") and _summary(alpha)[3:] == (log.pk, "success")
