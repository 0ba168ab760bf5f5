"""The log record index: a chunk's rows are all there or none, exactly once, whatever crashes in between."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from jobs import selectors
from jobs.logbackup import engine
from jobs.logbackup import index as logindex
from jobs.logbackup.cache import LogCache
from jobs.logbackup.types import LOG_TYPES

from .stores import open_store

AUDIT = LOG_TYPES["audit"]
T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)


def _audit(n: int, upn: str = "ada@contoso.example", uid: str = "u-ada") -> dict:
    at = T0 + timedelta(minutes=n)
    return {"id": f"Directory_{n}", "activityDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "category": "UserManagement", "activityDisplayName": "Update user", "result": "success",
            "correlationId": f"c{n}", "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"id": uid, "userPrincipalName": upn, "ipAddress": "203.0.113.9"}},
            "targetResources": [{"id": f"t{n}", "displayName": 'Bob "\\the\tbuilder"'}]}


def _rows(repository: str = "1") -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.record_id, r.line FROM jobs_logrecord r JOIN jobs_logchunk c ON c.id = r.chunk_id "
                       "WHERE c.repository = %s ORDER BY r.line", [repository])
        return cursor.fetchall()


def _index(records, chunk="t/audit/2026/05/01/s-1.jsonl.zst", tenant_id=1):
    return logindex.index_chunk(tenant_id=tenant_id, log_type=AUDIT, repository="1", chunk=chunk, records=records)


def test_a_chunk_indexed_twice_gives_one_set_of_rows(db):
    records = [_audit(n) for n in range(5)]
    assert _index(records) == 5
    assert _index(records) == 0
    assert _rows() == [(f"Directory_{n}", n) for n in range(5)]
    assert logindex.chunks_unindexed("1", ["t/audit/2026/05/01/s-1.jsonl.zst", "other"]) == {"other"}


def test_a_crash_between_copy_and_commit_leaves_nothing_and_the_chunk_is_indexed_again(db, monkeypatch):
    real_copy = logindex._copy

    def copy_then_die(cursor, rows):
        real_copy(cursor, rows)
        raise RuntimeError("killed after the COPY")

    monkeypatch.setattr(logindex, "_copy", copy_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        _index([_audit(n) for n in range(3)])
    assert _rows() == []
    assert logindex.chunks_unindexed("1", ["t/audit/2026/05/01/s-1.jsonl.zst"])  # no marker either
    monkeypatch.setattr(logindex, "_copy", real_copy)
    assert _index([_audit(n) for n in range(3)]) == 3 and len(_rows()) == 3


def test_hostile_text_reaches_the_index_intact_and_the_search_finds_it(db):
    odd = _audit(1, upn="Eve\x1f@contoso.example")  # a stand-in of the COPY block in tenant data
    _index([_audit(0), odd])
    with connection.cursor() as cursor:
        cursor.execute("SELECT user_upn, target_names FROM jobs_logrecord ORDER BY line")
        assert cursor.fetchall() == [("ada@contoso.example", ['Bob "\\the\tbuilder"']),
                                     ("Eve\x1f@contoso.example", ['Bob "\\the\tbuilder"'])]


class _Tenant:
    pk = 1


def test_the_user_search_takes_a_upn_in_any_case_or_an_object_id_across_upn_changes(db):
    _index([_audit(0), _audit(1, upn="ada.new@contoso.example"), _audit(2, upn="bob@contoso.example", uid="u-bob")])
    _index([_audit(3, upn="", uid="u-svc")], chunk="t/audit/2026/05/01/s-2.jsonl.zst")

    def found(user):
        rows = selectors.log_records_search(_Tenant(), start=T0, end=T0 + timedelta(hours=1), user=user)["rows"]
        return [r["record_id"] for r in rows]

    assert found("ADA@contoso.example") == ["Directory_0"]
    assert found("u-ada") == ["Directory_1", "Directory_0"]  # newest first, under both of its UPNs
    assert found("u-svc") == ["Directory_3"]
    assert found("nobody@contoso.example") == []
    row = selectors.log_records_search(_Tenant(), start=T0, end=T0 + timedelta(hours=1), user="u-bob")["rows"][0]
    assert (row["repository"], row["chunk"], row["line"], row["log_type"]) == (
        "1", "t/audit/2026/05/01/s-1.jsonl.zst", 2, "audit")


class _Dropping(logindex.ChunkIndexer):
    """A session killed while its chunks waited for the index: they were stored and cached, never indexed."""

    def submit(self, repository, manifest, records):
        pass


@pytest.mark.parametrize("watermark", [True, False], ids=["a-later-session", "the-first-session"])
def test_absorb_indexes_the_chunks_a_killed_session_had_cached_but_not_indexed(db, tmp_path, watermark):
    """A killed first session has no watermark yet: the one rebuilt from the manifests lies past its older
    chunks, which must be indexed all the same."""
    store = engine.Target("1", open_store(tmp_path / "primary"))
    records = [_audit(n * 60) for n in range(5)]  # five hours: more than twice the overlap
    with LogCache(tmp_path / "cache").open("t", "audit") as cache:
        run = engine.Run(client=None, log_type=AUDIT, tenant="t", session="s", primary=store, cache=cache,
                         overlap=timedelta(hours=1), now=T0 + timedelta(hours=6), retention=timedelta(days=30),
                         index=_Dropping(tenant_id=1, log_type=AUDIT, threaded=False), chunk_size=2)
        engine._store(run, store, records, engine.TypeResult())
        if watermark:
            cache.set_watermark("1", T0 + timedelta(hours=4, minutes=30))
        assert _rows() == [] and len(cache.absorbed("1")) == 3
        run.index = logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, threaded=False)
        engine.absorb(run, store)
        engine.absorb(run, store)  # and only once
        assert cache.watermark("1") is not None
    assert sorted(r[0] for r in _rows()) == sorted(r["id"] for r in records)


@pytest.mark.django_db(transaction=True)
def test_the_threaded_indexer_indexes_everything_submitted_before_drain_returns_and_reports_failures():
    manifests = [type("M", (), {"chunk": f"t/audit/2026/05/01/s-{n}.jsonl.zst", "merged": ()}) for n in range(6)]
    try:
        with logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT) as indexer:
            for n, manifest in enumerate(manifests):
                indexer.submit("1", manifest, [_audit(n * 10 + k) for k in range(10)])
            indexer.drain()
            assert len(_rows()) == 60 and indexer.added == 60
            indexer.submit("1", type("M", (), {"chunk": "bad", "merged": ()}), [{"id": "x"}])  # no time: indexing fails
            with pytest.raises(KeyError):
                indexer.drain()
    finally:  # not Django models: the test database's flush leaves them
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE jobs_logrecord, jobs_logchunk, jobs_loguser")


def test_retention_forgets_only_that_tenant_and_repository_and_drops_a_day_once_nobody_uses_it(db):
    day = T0.date()
    _index([_audit(0)], chunk="a")  # tenant 1, repository "1"
    logindex.index_chunk(tenant_id=2, log_type=AUDIT, repository="1", chunk="b", records=[_audit(1)])
    logindex.index_chunk(tenant_id=1, log_type=AUDIT, repository="9", chunk="c", records=[_audit(2)])
    assert logindex.index_prune(tenant_id=1, repository="1", before=day) == []  # the day itself is kept
    assert logindex.index_prune(tenant_id=1, repository="1", before=day + timedelta(days=1)) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.tenant_id, c.repository FROM jobs_logrecord r JOIN jobs_logchunk c "
                       "ON c.id = r.chunk_id ORDER BY 1, 2")
        assert cursor.fetchall() == [(1, "9"), (2, "1")]
    logindex.index_prune(tenant_id=2, repository="1", before=day + timedelta(days=1))
    assert logindex.index_prune(tenant_id=1, repository="9", before=day + timedelta(days=1)) == [day]
    assert day not in logindex.partitions() and logindex.chunks_unindexed("1", ["a", "b"]) == {"a", "b"}
