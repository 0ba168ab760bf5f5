"""Compaction on the Django side: the index follows the compacted chunk exactly once whatever crashes, the
log session and `log_repository_compact` compact closed days only, an export is the same before and after."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from entrabackup import graph, vault
from jobs import logrunner
from jobs.errors import JobError
from jobs.logbackup import index as logindex
from jobs.logbackup.engine import Target
from jobs.logbackup.services import log_job_create
from jobs.logbackup.types import LOG_TYPES
from jobs.models import LogSession
from repositories import log_services
from repositories.log_services import log_repository_add, log_repository_open
from repositories.logstore import DirectoryBackend, Manifest
from repositories.logstore import LogRepository as LogStore
from repositories.logstore.compaction import compact_chain
from tenants.services import tenant_create

from .stores import open_store

AUDIT = LOG_TYPES["audit"]
T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
DAY = T0.date()


def _audit(n: int, at: datetime | None = None) -> dict:
    at = at or T0 + timedelta(minutes=n)
    return {"id": f"Directory_{n}", "activityDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "category": "UserManagement", "activityDisplayName": "Update user", "result": "success",
            "correlationId": f"c{n}", "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"id": "u-ada", "userPrincipalName": "ada@contoso.example"}, "app": None},
            "targetResources": [{"id": f"t{n}", "displayName": "Bob"}]}


def _indexed(store, repository="1") -> Counter:
    """The record ids of the index, each after checking that its (chunk, line) holds that very record."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.chunk, r.line, r.record_id FROM jobs_logrecord r JOIN jobs_logchunk c "
                       "ON c.id = r.chunk_id WHERE c.repository = %s", [repository])
        rows = cursor.fetchall()
    for chunk, line, record_id in rows:
        path = chunk.split(".jsonl")[0] + ".manifest.json"
        assert store.read_chunk(Manifest.parse(path, store.backend.get(path)))[line]["id"] == record_id
    return Counter(record_id for _, _, record_id in rows)


def _repoint(primary=True):
    def repoint(manifest, records):
        logindex.index_compacted(tenant_id=1, log_type=AUDIT, repository="1", manifest=manifest, records=records,
                                 primary=primary)
    return repoint


def _six_chunks(tmp_path, *, indexed=5):
    """Six 10-record chunks of one day; the first `indexed` of them indexed (the last one was still queued for
    the indexer when its session died)."""
    store = open_store(tmp_path / "primary")
    for at in range(0, 60, 10):
        records = [_audit(n) for n in range(at, at + 10)]
        manifest = store.write_chunk(tenant="t", log_type="audit", day=DAY, session=f"ls{at}", records=records)
        if at // 10 < indexed:
            logindex.index_chunk(tenant_id=1, log_type=AUDIT, repository="1", chunk=manifest.chunk, records=records)
    return store


def test_a_crash_before_the_index_follows_is_repaired_by_the_absorb_step_once(db, tmp_path):
    store = _six_chunks(tmp_path)

    def die(manifest, records):
        raise RuntimeError("killed before the index was re-pointed")

    with pytest.raises(RuntimeError, match="killed"):
        compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=die)
    assert sum(_indexed(store).values()) == 50  # still the old chunks, still readable
    compacted = store.manifests("t", "audit")[0]
    assert compacted.merged and logindex.chunks_unindexed("1", [compacted.chunk])
    indexer = logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, threaded=False)
    indexer.submit("1", compacted, store.read_chunk(compacted))  # a session's absorb step finds it unindexed
    assert _indexed(store) == Counter(f"Directory_{n}" for n in range(60))
    report = compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=_repoint())
    assert report.finished == 1 and _indexed(store) == Counter(f"Directory_{n}" for n in range(60))
    assert len(store.backend.list("t/audit/2026/05/01")) == 2 and store.verify().ok


def test_a_crash_between_the_index_update_and_the_removal_loses_and_duplicates_nothing(db, tmp_path, monkeypatch):
    store = _six_chunks(tmp_path)
    real_delete = store.backend.delete
    monkeypatch.setattr(store.backend, "delete", lambda key: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"):
        compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=_repoint())
    expected = Counter(f"Directory_{n}" for n in range(60))
    assert _indexed(store) == expected  # already on the compacted chunk, the missing rows added
    monkeypatch.setattr(store.backend, "delete", real_delete)
    assert compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=_repoint()).finished
    assert _indexed(store) == expected and len(store.backend.list("t/audit/2026/05/01")) == 2


def test_a_secondary_compacts_without_gaining_index_rows(db, tmp_path):
    store = _six_chunks(tmp_path, indexed=0)
    compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=_repoint(primary=False))
    assert _indexed(store) == Counter() and len(store.manifests("t", "audit")) == 1


def test_an_index_that_disagrees_with_the_chunks_is_left_as_it_was(db, tmp_path):
    store = _six_chunks(tmp_path, indexed=6)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM jobs_logrecord WHERE record_id = 'Directory_3'")
    with pytest.raises(JobError, match="holds 59 rows of the chunks compacted.*not 60"):
        compact_chain(store, "t", "audit", closed_before=DAY + timedelta(days=1), repoint=_repoint())
    assert sum(_indexed(store).values()) == 59  # rolled back: every row still points at its old chunk


@pytest.fixture
def tenant(db, clean_repository_database):
    return tenant_create(name="Contoso", directory_id="contoso.example", client_id="11111111-2222-3333-4444-555555555555",
                         credential=graph.ClientSecret("s"))


@pytest.fixture
def roots(settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    return tmp_path


@pytest.fixture
def primary(tenant, roots):
    return log_repository_add(name="Primary", kind="directory", path=str(roots / "primary"))


def test_log_repository_compact_keeps_the_export_and_the_index(tenant, primary, tmp_path):
    job = log_job_create(tenant=tenant, primary=primary)
    with log_repository_open(primary) as store:
        for at in range(0, 40, 10):
            records = [_audit(n) for n in range(at, at + 10)]
            manifest = store.write_chunk(tenant=str(tenant.key), log_type="audit", day=DAY, session=f"ls{at}",
                                         records=records)
            logindex.index_chunk(tenant_id=tenant.pk, log_type=AUDIT, repository=str(primary.pk),
                                 chunk=manifest.chunk, records=records)
    export = {"tenant": "Contoso", "type": "audit", "start": "2026-05-01T00:00:00Z", "end": "2026-05-02T00:00:00Z",
              "format": "json", "stdout": StringIO()}
    call_command("logs_export", output=str(tmp_path / "before.json"), **export)
    LogSession.objects.create(job=job, tenant=tenant)  # a queued session: the command leaves the tenant alone
    out = StringIO()
    call_command("log_repository_compact", name="Primary", stdout=out)
    assert "skipped" in out.getvalue() and "0 chunks compacted" in out.getvalue()
    LogSession.objects.update(status=LogSession.Status.SUCCESS)
    call_command("log_repository_compact", name="Primary", stdout=out)
    assert f"{tenant.key}/audit: 1 days compacted: 4 chunks of 40 records" in out.getvalue()
    call_command("logs_export", output=str(tmp_path / "after.json"), **export)
    assert (tmp_path / "after.json").read_bytes() == (tmp_path / "before.json").read_bytes()
    with log_repository_open(primary) as store:
        assert len(store.manifests(str(tenant.key), "audit")) == 1
        assert _indexed(store, str(primary.pk)) == Counter(f"Directory_{n}" for n in range(40))


def test_log_repository_compact_of_an_encrypted_repository_with_a_wrong_password_is_a_clear_error(tenant, roots):
    LogStore.create(DirectoryBackend(roots / "sealed"), password="correct horse battery", scrypt_n=2**10)  # fast
    sealed = log_repository_add(name="Sealed", kind="directory", path=str(roots / "sealed"),
                                password="correct horse battery")  # adopted: its password opens it
    sealed.sealed_password = vault.seal("not the password", purpose=log_services._PASSWORD_PURPOSE,
                                        binding=sealed.vault_binding())
    sealed.save()
    with pytest.raises(CommandError, match="Log repository Sealed: Wrong password for this log repository"):
        call_command("log_repository_compact", name="Sealed", stdout=StringIO())


def test_a_log_session_compacts_closed_days_after_storing_and_leaves_today(tenant, primary):
    job = log_job_create(tenant=tenant, primary=primary)
    session = LogSession.objects.create(job=job, tenant=tenant)
    now = timezone.now()
    closed, today = (now - timedelta(days=2)).date(), now.date()
    with log_repository_open(primary) as store:
        for n in range(4):
            day = closed if n < 2 else today
            store.write_chunk(tenant=str(tenant.key), log_type="audit", day=day, session=f"ls{n}",
                              records=[_audit(n, datetime.combine(day, datetime.min.time(), UTC))])
        warnings = []
        logrunner._compact(session, Target(str(primary.pk), store), None, ["audit"], warnings)
        assert warnings == [] and "Compaction of Primary, audit: 1 days compacted: 2 chunks" in \
            LogSession.objects.get(pk=session.pk).log
        days = [m.day for m in store.manifests(str(tenant.key), "audit")]
        assert days == [today, today, closed] and store.verify().ok
