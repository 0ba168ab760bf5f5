"""Jobs and sessions: creation rules, one session per tenant, schedules firing, fail-over of dead sessions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entrabackup import graph
from jobs import services
from jobs.errors import JobError, SessionConflictError
from jobs.models import BackupSession
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def tenant(db, clean_repository_database):
    return tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT, credential=graph.ClientSecret("s"))


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "session_enqueue", lambda session: calls.append(session.pk))
    return calls


def test_a_job_gets_the_local_repository_and_its_next_run(tenant):
    job = services.job_create(tenant=tenant, schedule_kind="hours", schedule_value="6", object_types=["group", "user"])
    assert job.repository.name == "Local repository" and job.repository.schema_version >= 1
    assert job.object_types == ["user", "group"]  # reading order
    assert timedelta(hours=5, minutes=59) < job.next_run_at - timezone.now() <= timedelta(hours=6)


def test_unknown_types_and_bad_retention_are_refused(tenant):
    with pytest.raises(JobError, match="Unknown object type"):
        services.job_create(tenant=tenant, object_types=["users"])
    with pytest.raises(JobError, match="at least one restore point"):
        services.job_create(tenant=tenant, retention_points=0)


@pytest.mark.django_db(transaction=True)
def test_one_session_per_tenant_at_a_time(tenant, enqueued):
    job = services.job_create(tenant=tenant)
    first = services.session_create(job=job)
    with pytest.raises(SessionConflictError, match=f"Session {first.pk}"):
        services.session_create(job=job)
    assert enqueued == [first.pk]  # enqueued once the transaction committed


@pytest.mark.django_db(transaction=True)
def test_due_jobs_start_and_move_their_next_run_on(tenant, enqueued):
    job = services.job_create(tenant=tenant, schedule_kind="minutes", schedule_value="30")
    assert services.jobs_run_due() == []
    later = timezone.now() + timedelta(minutes=31)
    started = services.jobs_run_due(now=later)
    assert [s.job_id for s in started] == [job.pk] and started[0].trigger == "schedule"
    job.refresh_from_db()
    assert job.next_run_at == later + timedelta(minutes=30)


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_proxy_stopped_beating_is_interrupted_and_retried_once(tenant, enqueued):
    job = services.job_create(tenant=tenant, retries=1)
    session = services.session_create(job=job)
    BackupSession.objects.filter(pk=session.pk).update(status="running", heartbeat_at=timezone.now(), proxy_name="p1")
    assert services.sessions_fail_over() == []  # still beating
    retries = services.sessions_fail_over(now=timezone.now() + timedelta(minutes=2))
    session.refresh_from_db()
    assert session.status == "interrupted" and "p1 stopped reporting" in session.error
    assert retries[0].attempt == 2 and retries[0].retry_of_id == session.pk
    BackupSession.objects.filter(pk=retries[0].pk).update(status="running", heartbeat_at=timezone.now())
    assert services.sessions_fail_over(now=timezone.now() + timedelta(minutes=2)) == []  # no third attempt


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_queued_session_ends_it_at_once(tenant, enqueued):
    session = services.session_create(job=services.job_create(tenant=tenant))
    assert services.session_cancel(session=session)
    session.refresh_from_db()
    assert session.status == "cancelled" and session.ended_at is not None
    assert not services.session_cancel(session=session)


@pytest.mark.django_db(transaction=True)
def test_a_session_pinned_to_another_proxy_is_requeued_then_failed_with_the_reason(tenant, enqueued, monkeypatch):
    from jobs.models import Proxy

    requeued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: requeued.append(args))
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)
    job = services.job_create(tenant=tenant, proxy=Proxy.objects.create(name="elsewhere", host="elsewhere"))
    session = services.session_create(job=job)
    assert services.session_bounce(session_id=session.pk, bounces=0) is True
    assert requeued == [("jobs.tasks.run_backup_session", session.pk, 1)]
    assert services.session_bounce(session_id=session.pk, bounces=services.MAX_BOUNCES) is True
    session.refresh_from_db()
    assert session.status == "failed" and "pinned to proxy elsewhere" in session.error
    job.proxy = Proxy.objects.create(name=services.proxy_host(), host=services.proxy_host())
    job.save()
    assert services.session_bounce(session_id=services.session_create(job=job).pk, bounces=0) is False
