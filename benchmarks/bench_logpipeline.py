"""Benchmark: the log job's pipeline per chunk, Graph out of the picture: store (serialise, zstd, AES-256-GCM,
write + fsync) then index (jobs.logbackup.index.index_chunk into the real index table).

    .venv/bin/python benchmarks/bench_logpipeline.py [--records 200000] [--chunk 5000] [--no-docs]
    .venv/bin/python -m benchmarks logpipeline

Records are the directoryAudit-shaped ones of bench_logstore (repositories/logstore/tests/factories.py),
generated before the clock starts. Each chunk goes through LogRepository.write_chunk (encrypted) and then
index_chunk, as jobs.logbackup.engine does after a page fills a chunk. The index table is created afresh
in a database of its own (`bench_logpipeline`) on the worktree's local PostgreSQL (var/pg, started when
needed), with Django set up from the test settings. Floor from the issue: >= 50,000 records/s (100x the
~500 records/s Graph delivers per tenant).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
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

    from jobs.logbackup import index  # local: after django.setup()
    from jobs.logbackup.types import LOG_TYPES  # local: after django.setup()
    from repositories.logstore import DirectoryBackend, LogRepository  # local: after django.setup()

    audit = LOG_TYPES["audit"]
    with connection.cursor() as cursor:
        cursor.execute(index.DROP)
        cursor.execute(index.CREATE)
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    store_s = index_s = 0.0
    added = 0
    with tempfile.TemporaryDirectory() as folder:
        store = LogRepository.create(DirectoryBackend(Path(folder)), password=PASSWORD)
        started = time.perf_counter()
        for at in range(0, len(records), chunk):
            part = records[at:at + chunk]
            began = time.perf_counter()
            manifest = store.write_chunk(tenant="bench", log_type="audit", day=date(2026, 11, 30), session="s1",
                                         records=part)
            stored = time.perf_counter()
            added += index.index_chunk(tenant_id=1, log_type=audit, repository="bench", chunk=manifest.chunk,
                                       records=part)
            index_s += time.perf_counter() - stored
            store_s += stored - began
        seconds = time.perf_counter() - started
        # Indexing the same chunks again adds nothing (a resumed session); time it too.
        began = time.perf_counter()
        again = sum(index.index_chunk(tenant_id=1, log_type=audit, repository="bench", chunk="again",
                                      records=records[at:at + chunk]) for at in range(0, len(records), chunk))
        again_s = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {index.TABLE}")  # noqa: S608 - a constant
        rows = cursor.fetchone()[0]
        cursor.execute(index.DROP)
    assert added == rows == len(records) and again == 0, (added, rows, again)
    return {"seconds": seconds, "rate": len(records) / seconds, "store_rate": len(records) / store_s,
            "index_rate": len(records) / index_s, "again_rate": len(records) / again_s, "version": version}


def render(r: dict, *, count: int, chunk: int) -> str:
    verdict = "meets" if r["rate"] >= FLOOR_RATE else "MISSES"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"""Measured {time.strftime('%Y-%m-%d')} on {report.machine(f"PostgreSQL {r['version']}")}; load average at the end {load}.

Command: `.venv/bin/python benchmarks/bench_logpipeline.py --records {count} --chunk {chunk}`

| measure | value | floor |
|---|---|---|
| records | {count:,} directoryAudit-shaped records in {chunk:,}-record chunks | |
| **store + index, per chunk** (write_chunk encrypted, then index_chunk) | {r['seconds']:.2f} s = **{r['rate']:,.0f} records/s** | >= {FLOOR_RATE:,} ({verdict}) |
| of which store (serialise, zstd, AES-256-GCM, write + fsync) | {r['store_rate']:,.0f} records/s | |
| of which index (key fields, COPY into a staging table, INSERT ... ON CONFLICT DO NOTHING) | {r['index_rate']:,.0f} records/s | |
| index the same chunks again (every row already there, none added) | {r['again_rate']:,.0f} records/s | |

How to read it: one process, one core for Python, PostgreSQL on the same 2-core machine; the password's
scrypt key derivation happens once at open and is not in the times. The cache (jobs/logbackup/cache.py) is
not in these numbers.
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
