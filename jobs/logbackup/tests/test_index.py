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
    real_insert = logindex._insert

    def insert_then_die(*args):
        real_insert(*args)
        raise RuntimeError("killed after the COPY and INSERT")

    monkeypatch.setattr(logindex, "_insert", insert_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        _index([_audit(n) for n in range(3)])
    assert _rows() == []
    assert logindex.chunks_unindexed("1", ["t/audit/2026/05/01/s-1.jsonl.zst"])  # no marker either
    monkeypatch.setattr(logindex, "_insert", real_insert)
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

    def submit(self, repository, manifest, records, lines=None):
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
    manifests = [type("M", (), {"chunk": f"t/audit/2026/05/01/s-{n}.jsonl.zst"}) for n in range(6)]
    try:
        with logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT) as indexer:
            for n, manifest in enumerate(manifests):
                indexer.submit("1", manifest, [_audit(n * 10 + k) for k in range(10)])
            indexer.drain()
            assert len(_rows()) == 60 and indexer.added == 60
            indexer.submit("1", type("M", (), {"chunk": "bad"}), [{"id": "x"}])  # no time: indexing fails
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


def _signin(n: int, **changes) -> dict:
    at = T0 + timedelta(minutes=n)
    record = {"id": f"s{n}", "createdDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "userId": "u-ada",
              "userPrincipalName": "Ada@Contoso.example", "appId": "app-1", "appDisplayName": "Office 365",
              "resourceId": "res-1", "resourceDisplayName": "Graph", "status": {"errorCode": 0},
              "ipAddress": "203.0.113.9", "correlationId": f"c{n}"}
    return {**record, **changes}


def _hostile_audit() -> list[dict]:
    app = {"app": {"appId": "app-9", "displayName": "Sync Ünïcode ✓", "servicePrincipalId": "sp"}, "user": None}
    odd_targets = [{"id": None, "displayName": None, "userPrincipalName": "x@contoso.example"},
                   {"id": "", "displayName": ""}, {}]
    return [_audit(0), {**_audit(1), "initiatedBy": None}, {**_audit(2), "initiatedBy": app},
            {**_audit(3), "targetResources": None}, {**_audit(4), "targetResources": []},
            {**_audit(5), "targetResources": odd_targets},
            {**_audit(6), "category": "Ünïcödé 日本 😀", "activityDisplayName": "a\\b\tc\nd\re \\. \"q\""},
            {**_audit(7), "activityDisplayName": "Upd\x00ate"},  # NUL: Python does it (7)
            _audit(8, upn="ÄDA@contoso.example"),  # not ASCII: Python's lower() (8)
            {**_audit(9), "result": "literal \\u0000 text"},  # looks like a NUL to the bytes check (9)
            {**_audit(10), "category": 5},  # a number where Graph documents a string (10)
            _audit(11, upn="", uid="U-ID"), _audit(12, upn="Ada@Contoso.EXAMPLE"),
            {**_audit(13), "result": None, "correlationId": None, "loggedByService": ""},
            {k: v for k, v in _audit(14).items() if k not in ("category", "correlationId", "initiatedBy")},
            {**_audit(15), "initiatedBy": {"user": {}, "app": None}}]


def _hostile_signins() -> list[dict]:
    return [_signin(0), _signin(1, status={"errorCode": 50126, "failureReason": "bad password"}),
            {k: v for k, v in _signin(2).items() if k not in ("status", "resourceId", "userId")},
            _signin(3, status={"errorCode": None}), _signin(4, status=None, userPrincipalName=None),
            _signin(5, status={"errorCode": "50126"}),  # a string code: Python does it (5)
            _signin(6, appDisplayName="Ünïcode 日本", ipAddress="2001:db8::1\x00"),  # NUL: Python (6)
            _signin(7, status={"errorCode": 1.5}), _signin(8, userId="Ü-id", userPrincipalName="")]  # (7), (8)


@pytest.mark.parametrize(("key", "records", "odd"), [("audit", _hostile_audit(), [7, 8, 9, 10]),
                                                     ("signin", _hostile_signins(), [5, 6, 7, 8])])
def test_the_sql_extraction_gives_exactly_the_rows_of_index_fields(db, monkeypatch, key, records, odd):
    log_type, seen = LOG_TYPES[key], []
    real_rows = logindex._rows

    def rows_spy(tenant_id, log_type, pairs):
        pairs = list(pairs)
        seen.extend(line for line, _ in pairs)
        return real_rows(tenant_id, log_type, pairs)

    monkeypatch.setattr(logindex, "_rows", rows_spy)
    logindex.index_chunk(tenant_id=1, log_type=log_type, repository="sql", chunk="a", records=records)
    assert sorted(seen) == odd  # every other record went through SQL
    # The reference: every record through index_fields (as before the SQL extraction).
    monkeypatch.setattr(logindex, "_insert", lambda cursor, lt, tenant, chunk, lines: list(range(len(lines))))
    logindex.index_chunk(tenant_id=2, log_type=log_type, repository="python", chunk="a", records=records)
    with connection.cursor() as cursor:
        columns = ", ".join(c for c in logindex.WRITTEN if c not in ("tenant_id", "chunk_id"))
        found = {}
        for tenant in (1, 2):
            cursor.execute(f"SELECT {columns} FROM jobs_logrecord WHERE tenant_id = %s ORDER BY line",  # noqa: S608
                           [tenant])
            rows = cursor.fetchall()
            cursor.execute("SELECT user_id, user_key FROM jobs_loguser WHERE tenant_id = %s ORDER BY 1, 2", [tenant])
            found[tenant] = (rows, cursor.fetchall())
    assert len(found[1][0]) == len(records) and found[1][1]
    assert found[1] == found[2]
