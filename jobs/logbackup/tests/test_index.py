"""The log record index: a chunk's rows are all there or none, exactly once, whatever crashes in between."""

from datetime import UTC, datetime, timedelta

import orjson
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

    def submit(self, repository, manifest, records, ndjson=None):
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


def _numbers(records) -> list[str]:
    return [str(n) for n in range(len(records))]


def _reference(log_type, records):
    """The general path: index_fields per record, every value escaped on its own."""
    return logindex._general_body(log_type, records, _numbers(records))


def _hostile_audits() -> list[dict]:
    odd = [_audit(n) for n in range(12)]
    odd[0]["targetResources"][0]["displayName"] = 'Tab\there\nnew\\line "quoted" \r Ünïcødé 名前'
    odd[1]["initiatedBy"] = {"app": {"appId": "a-1", "displayName": "Sync \\app\\"}, "user": None}
    odd[2]["targetResources"] = []
    odd[3]["targetResources"] = [{"id": "t1", "displayName": None, "userPrincipalName": "x@y"},
                                 {"id": None, "displayName": 'a"b'}, {}]
    odd[4]["initiatedBy"] = None
    del odd[5]["category"], odd[5]["targetResources"], odd[5]["correlationId"]
    odd[6]["resultReason"] = "bad\x00byte"
    odd[7]["initiatedBy"]["user"]["userPrincipalName"] = "ÉVE@Contoso.Example"
    odd[8]["initiatedBy"]["user"] = {"id": "only-an-id"}
    odd[9]["targetResources"] = [{"id": "t\\9", "displayName": "plain"}]
    odd[10]["targetResources"][0]["displayName"] = "{braces},commas"
    odd[11]["loggedByService"] = "Core\tDirectory\\"
    return odd


def _signins() -> list[dict]:
    base = {"createdDateTime": "2026-05-01T10:00:00.0000000Z", "userPrincipalName": "Ada@Contoso.example",
            "userId": "u-ada", "appId": "app-1", "appDisplayName": "Portal", "resourceId": "r-1",
            "resourceDisplayName": 'Graph "\\API"', "correlationId": "c", "ipAddress": "203.0.113.9",
            "status": {"errorCode": 0}}
    odd = [{**base, "id": f"s{n}"} for n in range(5)]
    odd[1]["status"] = {"errorCode": 50126, "failureReason": "Invalid\tpassword"}
    odd[2]["status"] = None
    del odd[3]["userPrincipalName"], odd[3]["resourceId"]
    odd[4]["appDisplayName"] = "Näme\nwith\\newline\x00"
    return odd


def _holds_a_separator(record: dict) -> bool:
    """A tab, newline, carriage return or NUL somewhere in the record (as its JSON escapes them)."""
    return any(escaped in orjson.dumps(record) for escaped in (b"\\t", b"\\n", b"\\r", b"\\u0000"))


@pytest.mark.parametrize("control", [False, True], ids=["quotes-and-backslashes", "tabs-newlines-and-nul"])
@pytest.mark.parametrize("key", ["audit", "signin", "signin-serviceprincipal"])
def test_the_fast_rows_equal_the_general_path_on_hostile_records(key, control):
    """Without tenant data holding a separator, the rows are joined with tabs and checked once; with one, they
    are built again with stand-ins and escaped in bulk. Both give the general path's text exactly."""
    log_type = LOG_TYPES[key]
    records = _hostile_audits() if key == "audit" else _signins()
    if not control:
        records = [r for r in records if not _holds_a_separator(r)]
    assert any(map(_holds_a_separator, records)) == control and len(records) >= 3
    fast = logindex._fast_body(log_type, records, _numbers(records))
    assert fast is not None and fast == _reference(log_type, records)


def test_a_prepared_chunk_gets_its_chunk_id_tenant_and_log_type_in_front_of_every_row():
    prepared = logindex.prepare(3, AUDIT, [_audit(0), _audit(1)])
    lines = "".join(prepared.copy_text(41)).split("\n")
    assert lines[-1] == "" and len(lines) == 3 and prepared.count == 2 and prepared.days == (T0.date(),)
    assert all(line.startswith("41\t3\t1\t") and line.count("\t") == len(logindex.WRITTEN) - 1 for line in lines[:2])
    assert prepared.users == {("u-ada", "ada@contoso.example")}


@pytest.mark.parametrize("odd", [
    {"category": 42},  # a number where Graph documents text: the general path writes "42"
    {"activityDisplayName": "stand-in \x1e in the data\tand a tab"},
    {"targetResources": [{"id": 7, "displayName": "n"}]},
    {"targetResources": [{"id": "t", "displayName": "stand-in \x1f\nand a newline"}]},
], ids=["number", "row-stand-in-and-tab", "number-in-array", "field-stand-in-and-newline"])
def test_records_the_fast_rows_do_not_cover_take_the_general_path_and_are_indexed_the_same(db, odd):
    records = [_audit(0), {**_audit(1), **odd}]
    assert logindex._fast_body(AUDIT, records, _numbers(records)) is None
    assert _index(records) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT category, activity, target_ids, target_names FROM jobs_logrecord ORDER BY line")
        stored = cursor.fetchall()
    general = logindex.index_fields(AUDIT, records[1])
    assert stored[1] == (str(general["category"]), general["activity"], [str(i) for i in general["target_ids"]],
                         general["target_names"])


def test_hostile_records_are_indexed_and_found_as_the_general_path_indexes_them(db):
    records = _hostile_audits()
    assert _index(records) == len(records)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(logindex.WRITTEN[5:])} FROM jobs_logrecord ORDER BY line")  # noqa: S608
        stored = cursor.fetchall()
    for record, row in zip(records, stored, strict=True):
        f = logindex.index_fields(AUDIT, record)
        upn, uid = f["user_upn"], f["user_id"]
        assert row == (logindex.user_key(upn, uid), record["id"], *(
            [v.replace("\x00", "") for v in f[name]] if isinstance(f[name], list) else f[name].replace("\x00", "")
            for name in logindex.FIELDS))
    found = selectors.log_records_search(_Tenant(), start=T0, end=T0 + timedelta(hours=1),
                                         target='Tab\there\nnew\\line "quoted" \r Ünïcødé 名前')["rows"]
    assert [r["record_id"] for r in found] == ["Directory_0"]
    assert [r["record_id"] for r in selectors.log_records_search(
        _Tenant(), start=T0, end=T0 + timedelta(hours=1), user="éve@contoso.example")["rows"]] == ["Directory_7"]


def test_every_user_of_an_indexers_chunks_reaches_the_user_table_though_each_is_sent_once(db):
    manifests = [type("M", (), {"chunk": f"t/audit/2026/05/01/s-{n}.jsonl.zst", "merged": ()}) for n in range(2)]
    indexer = logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, threaded=False)
    indexer.submit("1", manifests[0], [_audit(0), _audit(1)])
    indexer.submit("1", manifests[1], [_audit(2), _audit(3, upn="Eve@Contoso.example", uid="u-eve")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT user_id, user_key FROM jobs_loguser WHERE tenant_id = 1 ORDER BY 1")
        assert cursor.fetchall() == [("u-ada", "ada@contoso.example"), ("u-eve", "eve@contoso.example")]
    assert indexer.added == 4
