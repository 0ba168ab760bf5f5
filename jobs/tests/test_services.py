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
def test_a_pinned_session_is_queued_under_its_proxy_name_and_says_when_that_proxy_is_silent(tenant, monkeypatch):
    from jobs.models import Proxy

    queued = []
    monkeypatch.setattr(services, "async_task", lambda *args, **kwargs: queued.append((args, kwargs["cluster"])))
    live = Proxy.objects.create(name="proxy-a", host="h", heartbeat_at=timezone.now())
    silent = Proxy.objects.create(name="proxy-b", host="h", heartbeat_at=timezone.now() - timedelta(hours=1))
    first = services.session_create(job=services.job_create(tenant=tenant, proxy=live))
    BackupSession.objects.filter(pk=first.pk).update(status="success")  # one active session per tenant
    second = services.session_create(job=services.job_create(tenant=tenant, name="second", proxy=silent))
    BackupSession.objects.filter(pk=second.pk).update(status="success")
    services.session_create(job=services.job_create(tenant=tenant, name="third"))
    assert [cluster for _, cluster in queued] == ["proxy-a", "proxy-b", None]  # None: the shared queue
    first.refresh_from_db(), second.refresh_from_db()
    assert "not reporting" not in first.log
    assert "Queued for proxy proxy-b, which is not reporting" in second.log
