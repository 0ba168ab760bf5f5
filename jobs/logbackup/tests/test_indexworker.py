"""The index worker (a process of its own for a session's large chunks): the same rows as the in-process path,
all or nothing when it dies, and a clear error when it cannot start."""

import os
import signal
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from jobs.logbackup import engine
from jobs.logbackup import index as logindex
from jobs.logbackup.cache import LogCache
from jobs.logbackup.types import LOG_TYPES

from .stores import open_store
from .test_index import _audit, _hostile_audits, _signins

AUDIT = LOG_TYPES["audit"]
pytestmark = pytest.mark.django_db(transaction=True)  # the worker has a connection of its own: data is committed
DAY = date(2031, 7, 4)  # a day no other test uses: its partition is missing, so creating it takes the lock below


@pytest.fixture(autouse=True)
def _empty_index():
    yield
    with connection.cursor() as cursor:  # not Django models: the test database's flush leaves them
        cursor.execute("TRUNCATE jobs_logrecord, jobs_logchunk, jobs_loguser")
        cursor.execute(f"DROP TABLE IF EXISTS {logindex.partition_name(DAY)}")


def _stored(repository: str) -> list[tuple]:
    columns = ", ".join(f"r.{c}" for c in logindex.WRITTEN if c != "chunk_id")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM jobs_logrecord r JOIN jobs_logchunk c ON c.id = r.chunk_id "  # noqa: S608
                       "WHERE c.repository = %s ORDER BY r.line", [repository])
        return cursor.fetchall()


def _manifest(chunk: str):
    return type("M", (), {"chunk": chunk, "merged": ()})


def test_the_worker_indexes_hostile_records_as_the_in_process_path_does():
    audits = [*_hostile_audits(), {**_audit(40), "category": 42},  # a number where Graph documents text
              {**_audit(41), "activityDisplayName": "stand-in \x1e in the data"}]
    signins = _signins()
    with logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, process=True) as worker, \
            logindex.ChunkIndexer(tenant_id=1, log_type=LOG_TYPES["signin"], process=True) as signin_worker:
        worker.submit("w", _manifest("t/audit/2026/05/01/s-1.jsonl.zst"), audits)
        signin_worker.submit("ws", _manifest("t/signin/2026/05/01/s-1.jsonl.zst"), signins)
        worker.drain()
        signin_worker.drain()
        assert worker.worker is not None and worker.worker.pid != os.getpid()  # not indexed in this process
        assert worker.added == len(audits) and signin_worker.added == len(signins)
    logindex.index_chunk(tenant_id=1, log_type=AUDIT, repository="p", chunk="t/audit/2026/05/01/s-1.jsonl.zst",
                         records=audits)
    logindex.index_chunk(tenant_id=1, log_type=LOG_TYPES["signin"], repository="ps",
                         chunk="t/signin/2026/05/01/s-1.jsonl.zst", records=signins)
    assert len(_stored("w")) == len(audits) and _stored("w") == _stored("p")
    assert len(_stored("ws")) == len(signins) and _stored("ws") == _stored("ps")


def _records(count: int) -> list[dict]:
    start = datetime(DAY.year, DAY.month, DAY.day, 1, tzinfo=UTC)
    return [{**_audit(n), "activityDateTime": (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")}
            for n in range(count)]


def test_a_worker_killed_mid_chunk_leaves_no_rows_and_the_next_absorb_indexes_the_chunk(tmp_path):
    records = _records(30)
    store = engine.Target("1", open_store(tmp_path / "primary"))
    with connection.cursor() as cursor, LogCache(tmp_path / "cache").open("t", "audit") as cache:
        run = engine.Run(client=None, log_type=AUDIT, tenant="t", session="s", primary=store, cache=cache,
                         overlap=timedelta(hours=1), now=datetime(DAY.year, DAY.month, DAY.day, 3, tzinfo=UTC),
                         retention=timedelta(days=30), index=logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT,
                                                                                   process=True))
        # Held here, the lock stops the worker inside its transaction: after the chunk's marker, before its rows.
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [logindex.TABLE])
        try:
            engine._store(run, store, records, engine.TypeResult())
            deadline = time.monotonic() + 120
            while not _waiting_on_the_lock():
                assert time.monotonic() < deadline, "the worker never reached the partition's lock"
                time.sleep(0.05)
            os.kill(run.index.worker.pid, signal.SIGKILL)
            with pytest.raises(logindex.IndexWorkerError, match="stopped while indexing chunk t/audit/2031/07/04/s-1"):
                run.index.drain()
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [logindex.TABLE])
            run.index.close()
        chunk = store.store.manifests("t", "audit")[0].chunk
        assert _stored("1") == [] and logindex.chunks_unindexed("1", [chunk]) == {chunk}  # no marker, no row
        with logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, process=True) as run.index:
            engine.absorb(run, store)
            run.index.drain()
    assert [row[5] for row in _stored("1")] == [r["id"] for r in records]
    assert logindex.chunks_unindexed("1", [chunk]) == set()


def _waiting_on_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def test_the_session_reports_a_clear_error_when_the_worker_cannot_start(tmp_path, monkeypatch):
    monkeypatch.setattr(logindex, "WORKER_COMMAND", [sys.executable, "-m", "jobs.logbackup.no_such_worker"])
    store = engine.Target("1", open_store(tmp_path / "primary"))
    with LogCache(tmp_path / "cache").open("t", "audit") as cache, \
            logindex.ChunkIndexer(tenant_id=1, log_type=AUDIT, process=True) as indexer:
        run = engine.Run(client=None, log_type=AUDIT, tenant="t", session="s", primary=store, cache=cache,
                         overlap=timedelta(hours=1), now=datetime(2031, 7, 5, tzinfo=UTC),
                         retention=timedelta(days=30), index=indexer)
        engine._store(run, store, _records(3), engine.TypeResult())
        with pytest.raises(logindex.IndexWorkerError, match=r"could not start: it exited with status 1 .*"
                                                            r"No module named jobs.logbackup.no_such_worker"):
            indexer.drain()
    assert logindex.chunks_unindexed("1", [store.store.manifests("t", "audit")[0].chunk])  # left for the next one
