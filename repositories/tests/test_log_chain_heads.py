"""Chain heads in the configuration database: the health check (service and command) reports the newest
chunks removed as missing, adopts the head of a chain written before heads existed, and a second writer
of one chain is refused."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from repositories import services
from repositories.errors import LogChainConflictError, TenantBusyError
from repositories.logstore import LogRepository as LogStore
from repositories.logstore.tests.factories import audit_records
from repositories.models import LogChainHead

DAY = date(2026, 11, 30)


@pytest.fixture
def repository(db, settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path / "logroots"]
    return services.log_repository_add(name="Primary", kind="directory", path="primary", retention_days=30)


def write(store, seed):
    return store.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1",
                             records=audit_records(10, seed=seed))


def remove(repository, manifest):
    for key in (manifest.chunk, manifest.path):
        (services.log_repository_backend(repository).root / key).unlink()


def test_the_newest_chunk_removed_is_reported_missing_by_the_check_and_its_command(repository):
    with services.log_repository_open(repository) as store:
        write(store, 1)
        newest = write(store, 2)
    head = LogChainHead.objects.get(repository=repository)
    assert (head.tenant, head.log_type, head.n, head.manifest_hash) == ("contoso", "audit", 2, newest.hash)
    remove(repository, newest)
    report = services.log_repository_check(repository=repository)
    repository.refresh_from_db()
    assert not report.ok and repository.check_ok is False and "newest chunks" in repository.check_summary
    out = StringIO()
    with pytest.raises(CommandError, match="damaged"):
        call_command("log_repository_check", "--name", "Primary", stdout=out)
    assert "MISSING\tcontoso/audit\tthe newest chunks of the chain (number 2)" in out.getvalue()


def test_the_first_check_of_a_chain_written_without_heads_records_its_head(repository):
    old = LogStore(services.log_repository_backend(repository), password=None)  # a version without heads
    write(old, 1)
    newest = write(old, 2)
    assert not LogChainHead.objects.exists()
    assert services.log_repository_check(repository=repository).ok
    assert LogChainHead.objects.get().n == 2
    remove(repository, newest)
    assert not services.log_repository_check(repository=repository).ok


def test_a_second_session_writing_the_same_chain_is_refused(repository):
    with pytest.raises(LogChainConflictError, match="another session") as caught:
        with services.log_repository_open(repository) as first, services.log_repository_open(repository) as second:
            write(first, 1)
            write(second, 2)
            write(first, 3)
    assert isinstance(caught.value, TenantBusyError) and caught.value.transient
    assert LogChainHead.objects.get().n == 2
    assert services.log_repository_check(repository=repository).ok
