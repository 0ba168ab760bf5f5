"""The scheduled health check of log repositories: queued when due, once, and its findings recorded."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jobs import services as job_services
from jobs import tasks
from repositories import services
from repositories.logstore.tests.factories import audit_records
from repositories.models import LogRepository

DAY = timezone.now().date()


@pytest.fixture
def repository(db, settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path / "logroots"]
    settings.LOG_REPOSITORY_CHECK_HOURS = 24
    return services.log_repository_add(name="Primary", kind="directory", path="primary", retention_days=30)


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(job_services, "async_task", lambda name, *args, **kwargs: calls.append((name, args)))
    return calls


def _write(repository, seed):
    with services.log_repository_open(repository) as store:
        return store.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1",
                                 records=audit_records(20, seed=seed))


def test_a_due_health_check_is_queued_once_and_a_fresh_one_not_at_all(repository, queued):
    LogRepository.objects.filter(pk=repository.pk).update(checked_at=timezone.now() - timedelta(hours=25))
    assert job_services.scheduler_tick()["log_repository_checks"] == [repository.pk]
    assert queued == [("jobs.tasks.check_log_repository", (repository.pk,))]
    assert job_services.scheduler_tick()["log_repository_checks"] == []  # claimed: not queued again meanwhile
    assert len(queued) == 1


def test_no_scheduled_check_when_turned_off(repository, queued, settings):
    settings.LOG_REPOSITORY_CHECK_HOURS = 0
    LogRepository.objects.filter(pk=repository.pk).update(checked_at=None)
    assert job_services.log_repository_checks_enqueue() == [] and queued == []


def test_the_scheduled_check_records_a_deleted_chunk(repository):
    _write(repository, 1)
    second = _write(repository, 2)
    _write(repository, 3)
    assert tasks.check_log_repository(repository.pk) == "ok"
    Path(repository.path, second.chunk).unlink()
    assert tasks.check_log_repository(repository.pk) == "damaged"
    repository.refresh_from_db()
    assert repository.check_ok is False and second.chunk in repository.check_summary
