"""Sessions: one active per tenant (held by the database), failures classified, retries after a pause, cancel."""

import threading
from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from entrabackup import graph
from entrabackup.vault import VaultError
from jobs import runner, services
from jobs.errors import SessionConflictError, failure_of
from jobs.models import BackupSession
from repositories.errors import RepositoryMisconfiguredError, RepositoryUnavailableError, TenantBusyError
from tenants.errors import TenantNotReadyError
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def job(db, clean_repository_database):
    tenant = tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT,
                           credential=graph.ClientSecret("s"))
    return services.job_create(tenant=tenant, retries=2)


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "session_enqueue", lambda session: calls.append(session.pk))
    return calls


@pytest.mark.django_db(transaction=True)
def test_two_racing_run_now_requests_make_exactly_one_session(job, enqueued, monkeypatch):
    # Both requests are inside their transactions before either inserts: only the database can pick one.
    both_inside = threading.Barrier(2, timeout=10)
    validate = services.object_types_validate
    monkeypatch.setattr(services, "object_types_validate", lambda types: (both_inside.wait(), validate(types))[1])
    outcomes = []

    def run_now():
        try:
            outcomes.append(services.session_create(job=job).pk)
        except SessionConflictError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    created = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, str)]
    assert len(created) == 1 and BackupSession.objects.filter(tenant=job.tenant).count() == 1
    assert refused == [f"Session {created[0]} of tenant Contoso is queued; wait for it or cancel it."]
    assert enqueued == created


@pytest.mark.parametrize("error", [
    graph.PermissionDeniedError("Insufficient privileges", needed=["User.Read.All"]),
    graph.LicenceRequiredError("Needs P1"),
    graph.InvalidCredentialError("AADSTS7000215"),
    graph.TenantNotFoundError("AADSTS90002"),
    graph.GraphUnreachableError("Name or service not known"),
    TenantNotReadyError("Missing: User.Read.All"),
    VaultError("The secrets key cannot open this value"),
    RepositoryMisconfiguredError("Repository R refused the connection: authentication failed"),
])
def test_errors_that_need_a_fix_are_permanent(error):
    failure = failure_of(error)
    assert not failure.transient and failure.message.endswith("Not retried: fix the cause, then run the job again.")


@pytest.mark.parametrize("error", [
    graph.GraphUnavailableError("HTTP 503 after 6 attempts"),
    graph.ThrottledError("HTTP 429 after 6 attempts"),
    RepositoryUnavailableError("Repository R is unreachable: connection refused"),
    TenantBusyError("Repository R is busy"),
    KeyError("surprise"),
])
def test_errors_that_may_pass_are_transient(error):
    assert failure_of(error).transient


def _fail_preflight_with(monkeypatch, error):
    """The session's Graph side fails with `error` (the end-to-end tests meet these errors for real)."""
    def preflight(**kwargs):
        raise error
    monkeypatch.setattr(runner, "tenant_graph_client", lambda tenant: nullcontext(object()))
    monkeypatch.setattr(runner, "tenant_preflight", preflight)


@pytest.mark.django_db(transaction=True)
def test_a_missing_permission_fails_with_the_fix_and_is_not_retried(job, enqueued, monkeypatch):
    _fail_preflight_with(monkeypatch, graph.PermissionDeniedError("Insufficient privileges", needed=["User.Read.All"]))
    session = runner.session_run(session_id=services.session_create(job=job).pk)
    assert session.status == "failed" and session.failure == "permanent"
    assert "Grant the application permission User.Read.All" in session.error
    assert "Not retried" in session.log
    assert BackupSession.objects.filter(tenant=job.tenant).count() == 1  # no second attempt


@pytest.mark.django_db(transaction=True)
def test_an_unavailable_graph_is_retried_after_a_pause_not_at_once(job, enqueued, monkeypatch, settings):
    settings.SESSION_RETRY_DELAY = 60
    _fail_preflight_with(monkeypatch, graph.GraphUnavailableError("HTTP 503 after 6 attempts"))
    first = services.session_create(job=job)
    session = runner.session_run(session_id=first.pk)
    assert session.status == "failed" and session.failure == "transient"
    retry = BackupSession.objects.get(retry_of=session)
    assert retry.status == "queued" and retry.attempt == 2
    assert timedelta(seconds=55) < retry.not_before - timezone.now() <= timedelta(seconds=60)
    assert enqueued == [first.pk]  # the retry is not handed to a proxy yet
    assert runner.session_run(session_id=retry.pk) is None  # nor would a proxy take it early
    assert services.sessions_enqueue_due() == []
    assert services.sessions_enqueue_due(now=timezone.now() + timedelta(seconds=61)) == [retry.pk]
    assert enqueued == [first.pk, retry.pk]
    second = runner.session_run(session_id=retry.pk)  # fails again: the next pause is twice as long
    third = BackupSession.objects.get(retry_of=second)
    assert timedelta(seconds=115) < third.not_before - timezone.now() <= timedelta(seconds=120)


@pytest.mark.django_db(transaction=True)
def test_a_retry_waiting_out_its_pause_holds_the_tenant(job, enqueued):
    waiting = services.session_create(job=job, trigger="retry", not_before=timezone.now() + timedelta(minutes=1))
    with pytest.raises(SessionConflictError, match=f"Session {waiting.pk} of tenant Contoso is queued \\(a retry waiting"):
        services.session_create(job=job)
    assert "waits until" in BackupSession.objects.get(pk=waiting.pk).log


@pytest.mark.django_db(transaction=True)
def test_cancelling_names_who_and_when(job, enqueued, admin_persona):
    queued = services.session_create(job=job)
    assert services.session_cancel(session=queued, user=admin_persona)
    queued.refresh_from_db()
    assert queued.status == "cancelled" and queued.cancelled_by == admin_persona and queued.cancelled_at
    assert "Cancelled by alice at " in queued.log and "before it started" in queued.error
    running = services.session_create(job=job)
    BackupSession.objects.filter(pk=running.pk).update(status="running")
    assert services.session_cancel(session=running, user=admin_persona)
    running.refresh_from_db()
    assert running.status == "running" and running.cancel_requested and running.cancelled_by == admin_persona
    assert "Cancel requested by alice at " in running.log
    assert services.session_cancel(session=running)  # asked again: still stopping, nothing changes
    assert BackupSession.objects.get(pk=running.pk).cancelled_by == admin_persona


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_sees_a_cancel_within_half_a_second(job, enqueued, settings):
    settings.SESSION_HEARTBEAT_INTERVAL = 30  # the beat itself is slow; the cancel read is not
    session = services.session_create(job=job)
    BackupSession.objects.filter(pk=session.pk).update(status="running")
    heartbeat = runner.Heartbeat(session.pk)
    heartbeat.start()
    try:
        services.session_cancel(session=session)
        deadline = timezone.now() + timedelta(seconds=2)
        while not heartbeat.cancel_requested and timezone.now() < deadline:
            threading.Event().wait(0.05)
        seen_after = timezone.now() - BackupSession.objects.get(pk=session.pk).cancelled_at
    finally:
        heartbeat.stop()
    assert heartbeat.cancel_requested and seen_after < timedelta(seconds=1)
