"""Benchmark: the log job's pipeline per chunk, Graph out of the picture: store (serialise, zstd, AES-256-GCM,
write + fsync), the cache, and the index, as a session runs them.

    .venv/bin/python benchmarks/bench_logpipeline.py [--records 200000] [--chunk 5000] [--no-docs]
    .venv/bin/python -m benchmarks logpipeline

Records are the directoryAudit-shaped ones of bench_logstore (repositories/logstore/tests/factories.py),
generated before the clock starts. They go through jobs.logbackup.engine._store, the function a session stores
a slice with: per day, sorted by time, chunks written with LogRepository.write_chunk (encrypted), each absorbed
into the real cache (jobs/logbackup/cache.py) and submitted to the real jobs.logbackup.index.ChunkIndexer, which
indexes on its own thread and database connection; the clock stops when the indexer has drained, as the
engine drains it before a watermark moves. The index tables are created afresh in a database of their own
(`bench_logpipeline`) on the worktree's local PostgreSQL (var/pg, started when needed), with Django set up from
the test settings. Floor from the issue: >= 50,000 records/s (100x the ~500 records/s Graph delivers per tenant).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402

SECTION = "## Log job pipeline: store and index"
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway repository
FLOOR_RATE = 50_000
DATABASE = "bench_logpipeline"


def django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "entrabackup.settings_test"
    os.environ["ENTRABACKUP_LOCALDB_NAME"] = DATABASE  # never the installation's or the tests' database
    os.environ.pop("DATABASE_URL", None)
    import django  # local: imported once the settings module is chosen

    django.setup()


def run(records: list[dict], chunk: int) -> dict:
    from django.db import connection  # local: after django.setup()

    from jobs.logbackup import engine, index  # local: after django.setup()
    from jobs.logbackup.cache import LogCache, TypeCache  # local: after django.setup()
    from jobs.logbackup.types import LOG_TYPES  # local: after django.setup()
    from repositories.logstore import DirectoryBackend, LogRepository  # local: after django.setup()

    audit = LOG_TYPES["audit"]
    with connection.cursor() as cursor:
        cursor.execute(index.DROP)
        cursor.execute(index.CREATE)
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    timer = _Timer(index)
    stages = _Stages(LogRepository, TypeCache, timer)
    with tempfile.TemporaryDirectory() as folder:
        store = LogRepository.create(DirectoryBackend(Path(folder) / "repo"), password=PASSWORD)
        primary = engine.Target("bench", store)
        # What jobs.logrunner._backup_type builds for a session, minus Graph: the same cache, the same indexer
        # (its own thread and connection), and engine._store, the function a session stores a slice with.
        with LogCache(Path(folder) / "cache").open("bench", "audit") as cache, \
                index.ChunkIndexer(tenant_id=1, log_type=audit) as indexer:
            run_ = engine.Run(client=None, log_type=audit, tenant="bench", session="s1", primary=primary,
                              cache=cache, overlap=timedelta(hours=1), now=datetime.now(UTC),
                              retention=timedelta(days=30), index=indexer, chunk_size=chunk)
            result = engine.TypeResult()
            started, cpu, pg = time.perf_counter(), time.process_time(), _backends_cpu()
            engine._store(run_, primary, records, result)  # noqa: SLF001 - the session's own code path
            indexer.drain()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            pg = _backends_cpu() - pg if pg is not None else None
            index_s = timer.seconds
        stages.stop()
        # A resumed session or a lost cache indexes the same chunks again: each is skipped by its marker.
        began = time.perf_counter()
        manifests = store.manifests("bench", "audit")
        again = sum(index.index_chunk(tenant_id=1, log_type=audit, repository="bench", chunk=m.chunk,
                                      records=store.read_chunk(m)) for m in manifests)
        again_s = time.perf_counter() - began
        store_s = _store_alone(store, records, chunk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(DISTINCT chunk_id) FROM {index.TABLE}")  # noqa: S608 - a constant
        rows, chunks = cursor.fetchone()
        cursor.execute(index.DROP)
    assert result.new == rows == len(records) and chunks == len(manifests) and again == 0, (result.new, rows, again)
    return {"seconds": seconds, "rate": len(records) / seconds, "store_rate": len(records) / store_s,
            "index_rate": len(records) / index_s, "again_rate": len(records) / again_s, "version": version,
            "chunks": chunks, "cpu_us": cpu / len(records) * 1e6,
            "pg_us": pg / len(records) * 1e6 if pg is not None else None,
            "stage_us": {name: spent / len(records) * 1e6 for name, spent in stages.cpu.items()}}


def _backends_cpu() -> float | None:
    """CPU seconds (user + system) of this database's PostgreSQL backends so far (Linux /proc; None elsewhere)."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            title = (folder / "cmdline").read_bytes()  # a backend's: "postgres: <user> <database> [local] ..."
            if not title.startswith(b"postgres: ") or f" {DATABASE} ".encode() not in title:
                continue
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick if Path("/proc/self/stat").exists() else None


class _Stages:
    """CPU time (time.thread_time, on whichever thread runs it) spent in each stage of the pipeline."""

    def __init__(self, store_class, cache_class, timer):
        self.cpu, self._undo = {"write_chunk": 0.0, "cache absorb": 0.0, "index_chunk": 0.0}, []
        self._wrap(store_class, "write_chunk", "write_chunk")
        self._wrap(cache_class, "absorb", "cache absorb")
        inner = timer.inner

        def indexed(**kwargs):
            began = time.thread_time()
            try:
                return inner(**kwargs)
            finally:
                self.cpu["index_chunk"] += time.thread_time() - began
        timer.inner = indexed

    def _wrap(self, owner, name: str, stage: str) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            began = time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.cpu[stage] += time.thread_time() - began
        setattr(owner, name, timed)
        self._undo.append((owner, name, real))

    def stop(self) -> None:
        for owner, name, real in self._undo:
            setattr(owner, name, real)


class _Timer:
    """Adds up the time index_chunk takes on the indexer's thread (it overlaps the store's)."""

    def __init__(self, index):
        self.seconds, self.inner = 0.0, index.index_chunk

        def timed(**kwargs):
            began = time.perf_counter()
            try:
                return self.inner(**kwargs)
            finally:
                self.seconds += time.perf_counter() - began
        index.index_chunk = timed


def _store_alone(store, records: list[dict], chunk: int) -> float:
    """write_chunk alone over the same records (another tenant's folder), for comparison."""
    began = time.perf_counter()
    for at in range(0, len(records), chunk):
        store.write_chunk(tenant="alone", log_type="audit", day=date(2026, 11, 30), session="s1",
                          records=records[at:at + chunk])
    return time.perf_counter() - began


def render(r: dict, *, count: int, chunk: int) -> str:
    verdict = "meets" if r["rate"] >= FLOOR_RATE else "MISSES"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    stage = r["stage_us"]
    pg = f"{r['pg_us']:.1f} µs per record" if r["pg_us"] is not None else "not measured (no /proc)"
    total = f"{r['cpu_us'] + r['pg_us']:.1f}" if r["pg_us"] is not None else "?"
    rest = r["cpu_us"] - sum(stage.values())
    status = ("**Status: the floor is met in this run.**" if r["rate"] >= FLOOR_RATE else
              "**Status: the floor is not met in this run.**")
    return f"""Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {report.machine(f"PostgreSQL {r['version']}")}; load average at the end {load}.

Command: `.venv/bin/python benchmarks/bench_logpipeline.py --records {count} --chunk {chunk}`

| measure | value | floor |
|---|---|---|
| records | {count:,} directoryAudit-shaped records in {chunk:,}-record chunks ({r['chunks']} chunks) | |
| **store + cache + index, as a session runs them** (engine._store, ChunkIndexer drained) | {r['seconds']:.2f} s = **{r['rate']:,.0f} records/s** | >= {FLOOR_RATE:,} ({verdict}) |
| CPU time of this process (both threads) | {r['cpu_us']:.1f} µs per record | |
| CPU time of the database's PostgreSQL backends (the indexer's COPY; WAL writer, I/O workers and checkpointer not counted) | {pg} | |
| CPU in total, both processes | {total} µs per record | <= 40 for 50,000/s on 2 cores |
| store alone over the same records (write_chunk: serialise, zstd, AES-256-GCM, write + fsync) | {r['store_rate']:,.0f} records/s | |
| index thread, time inside index_chunk (marker row, key fields, one COPY; overlaps the store) | {r['index_rate']:,.0f} records/s | |
| index the same chunks again (read back, every chunk skipped by its marker) | {r['again_rate']:,.0f} records/s | |

CPU per record per stage in the same run (time.thread_time on the thread that runs it):

| stage | CPU µs per record |
|---|---|
| write_chunk (session thread: serialise, zstd, AES-256-GCM, sha-256, write + fsync) | {stage['write_chunk']:.1f} |
| cache absorb (session thread: the chunk's ids as one row) | {stage['cache absorb']:.1f} |
| index_chunk (indexer thread: marker, key fields and COPY text, sending the COPY) | {stage['index_chunk']:.1f} |
| the rest of this process (sorting by time and id, grouping by day, thread hand-offs, garbage collection) | {rest:.1f} |
| PostgreSQL backends (parsing the COPY, heap, BRIN and the user btree, commit) | {pg.removesuffix(' per record')} |

{status} The lead re-runs this command on a quiet machine: the load average above is other engineers' work
on the same 2 cores, which takes CPU from both the process and PostgreSQL, so the rate here is a lower bound;
the CPU per record is the comparable figure. 50,000 records/s on 2 cores needs at most 40 µs of CPU per
record in total, about 20 on each core (one for this process's Python, one for PostgreSQL). This process's
threads share one interpreter lock, so its {r['cpu_us']:.1f} µs per record run on about one core: alone they
cap the rate near {1e6 / r['cpu_us']:,.0f} records/s, whatever the other core does. Reaching the floor needs this
process near 20 µs per record; write_chunk and index_chunk are the two largest stages (below).

What changed for this run (commits d3eb014, dcbe412 and f9b4d2e on wt-P):
- the index's COPY text is built in one pass per record (no dict of key fields, arrays quoted inline;
  records it does not cover, e.g. a number where Graph documents text, still take index_fields); the
  indexer thread's CPU went from 24.9 to 11-12 µs per record;
- the cache keeps a chunk's ids as one JSON array per chunk instead of a row per id (whose btree dirtied a
  page of SQLite's write-ahead log per record): absorb from 16-17 to 1.4-1.9 µs per record;
- the session parses each record's time once and sorts indices, not a tuple per record (whose allocation
  set off full garbage-collector passes over the slice): the rest of the process from 8.5-9.6 to about 5.
Measured with the same stages back to back at load 3-16 (old code, then new): this process 59.1 -> 31-35 µs
per record, PostgreSQL unchanged at 12-15.

Tried and not kept: sending a chunk's COPY in slices of 1,000 rows so that PostgreSQL parses one slice while
Python makes the next: back to back at load 4-5, 14,575 and 15,061 records/s against 17,436 and 17,860 with
the chunk sent whole. Also earlier (before this run): PostgreSQL extracting the key fields from the chunk's
NDJSON (one COPY into a jsonb staging table, one INSERT ... SELECT): this process's CPU fell (about 35 µs per
record) but PostgreSQL's backend then spent 50-60 µs per record (jsonb parsing of these ~850-byte records,
then the INSERT).

Where the rest is: write_chunk (repositories/logstore, not changed here) is now the largest stage: orjson
(~3 µs per record), zstd level 3 (~3; level 2 would save ~0.9 µs at +3 bytes per record), the manifest's time
range and the fsyncs. PostgreSQL's share is mostly the COPY's parsing and heap inserts (about 7 µs) and the
(tenant, user, time) btree the user search needs (about 5; measured by dropping it; `COLLATE "C"` on it saved
nothing here).

Earlier history: the jobs/0004 index (staging table, `INSERT ... ON CONFLICT DO NOTHING` into a primary key
and four btrees, indexed after each chunk was stored, cache not timed), same command at load average 2.6:
7,359 records/s; the marker-per-chunk index with the cache's rows inserted by executemany (commit 49b11d1) at
load average 0.8: 17,419 records/s, 46.1 µs of this process's CPU per record; with the json_each cache at load
1.9: 16,018 records/s, 59.6 µs.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    django_setup()
    from repositories.logstore.tests.factories import audit_records  # local: after django.setup()

    records = audit_records(args.records)
    body = render(run(records, args.chunk), count=args.records, chunk=args.chunk)
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
