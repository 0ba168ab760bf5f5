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
    from jobs.logbackup.cache import LogCache  # local: after django.setup()
    from jobs.logbackup.types import LOG_TYPES  # local: after django.setup()
    from repositories.logstore import DirectoryBackend, LogRepository  # local: after django.setup()

    audit = LOG_TYPES["audit"]
    with connection.cursor() as cursor:
        cursor.execute(index.DROP)
        cursor.execute(index.CREATE)
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    timer = _Timer(index)
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
            started, cpu = time.perf_counter(), time.process_time()
            engine._store(run_, primary, records, result)  # noqa: SLF001 - the session's own code path
            indexer.drain()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            index_s = timer.seconds
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
            "chunks": chunks, "cpu_us": cpu / len(records) * 1e6}


class _Timer:
    """Adds up the time index_chunk takes on the indexer's thread (it overlaps the store's)."""

    def __init__(self, index):
        self.seconds, inner = 0.0, index.index_chunk

        def timed(**kwargs):
            began = time.perf_counter()
            try:
                return inner(**kwargs)
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
    return f"""Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {report.machine(f"PostgreSQL {r['version']}")}; load average at the end {load}.

Command: `.venv/bin/python benchmarks/bench_logpipeline.py --records {count} --chunk {chunk}`

| measure | value | floor |
|---|---|---|
| records | {count:,} directoryAudit-shaped records in {chunk:,}-record chunks ({r['chunks']} chunks) | |
| **store + cache + index, as a session runs them** (engine._store, ChunkIndexer drained) | {r['seconds']:.2f} s = **{r['rate']:,.0f} records/s** | >= {FLOOR_RATE:,} ({verdict}) |
| CPU time of this process (both threads; PostgreSQL's own not counted) | {r['cpu_us']:.1f} µs per record | |
| store alone over the same records (write_chunk: serialise, zstd, AES-256-GCM, write + fsync) | {r['store_rate']:,.0f} records/s | |
| index thread, time inside index_chunk (marker row, key fields, one COPY; overlaps the store) | {r['index_rate']:,.0f} records/s | |
| index the same chunks again (read back, every chunk skipped by its marker) | {r['again_rate']:,.0f} records/s | |

Before (the jobs/0004 index: staging table, `INSERT ... ON CONFLICT DO NOTHING` into a primary key and four
btrees, indexed after each chunk was stored, cache not timed), same command at load average 2.6: 7,359 records/s
(store 47,310, index 8,720). With the cache's rows inserted by executemany (commit 49b11d1), same command at
load average 0.8: 17,419 records/s, 46.1 µs of this process's CPU per record. Tried and not kept: PostgreSQL
extracting the key fields from the chunk's NDJSON (one COPY into a jsonb staging table, one INSERT ... SELECT).
This process's CPU fell (about 35 µs per record) but PostgreSQL's backend then spent 50-60 µs per record
(jsonb parsing of these ~850-byte records, then the INSERT); back to back at load average 1.4-1.9 the index
thread fell from 34,309 to 16,091 records/s and the pipeline from 18,046 to 15,289 records/s.

How to read it: one process (the session thread and the indexer's thread share one core's worth of Python),
PostgreSQL on the same 2-core machine, which other work shares (see the load average); the password's scrypt key
derivation happens once at open and is not in the times. Compare runs by the store-alone row: it moves with the
machine's load, not with the index or the cache.

Same load, old code: the jobs/0004 index and its benchmark (commit ecc0241, the same command, at load average
13.6-16.5) gave 1,660 records/s (store 9,908, index 1,994) without the cache in the clock, against 3,158 for the
marker-per-chunk index right before it at load 13.8: the marker-per-chunk index, its single user btree and the
indexing thread roughly double the pipeline at equal load.

**Status: the floor is not met.** Where the time goes on a quiet machine: the Python process about 45 µs of CPU
per record under one GIL (write_chunk's serialise, zstd and AES about 10; the cache's SQLite inserts, now one
json_each statement per chunk with the GIL released, about 7 instead of 11; the index's key fields and COPY text
about 20), and PostgreSQL's COPY on the other core. 50,000 records/s leaves 20 µs per record for each of the two
cores; moving the key fields into PostgreSQL (above) moved the cost rather than removing it. What would move it
further: fewer indexed columns per row, a cheaper per-record extraction (a compiled helper), or a second proxy
host; each needs a design decision.
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
