"""Benchmark: searching the log record index by user and time range (the log explorer's query).

    .venv/bin/python benchmarks/bench_logindex.py [--rows 10000000] [--queries 300] [--no-docs]
    .venv/bin/python -m benchmarks logindex

Rows are generated in the index table itself with SQL generate_series (not through Graph): 30 days of day
partitions, 20 tenants, 20,000 users, audit-shaped key fields. Then `--queries` searches as
jobs.selectors.log_records_search runs them (jobs.logbackup.index.search_sql): one tenant, one user (by UPN),
a random 1-day to 7-day range, the first page of 50, newest first. Floor: p95 <= 100 ms.
It starts its own PostgreSQL (entrabackup.localdb) in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from entrabackup import localdb  # noqa: E402
from jobs.logbackup import index  # noqa: E402

SECTION = "## Log record index"
DAYS, TENANTS, USERS = 30, 20, 20_000
START = datetime(2026, 1, 1, tzinfo=UTC)
FLOOR_MS = 100.0


def fill(conn, rows: int) -> float:
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute(index.CREATE)
        for day in range(DAYS):
            d = (START + timedelta(days=day)).date()
            cur.execute(f"CREATE TABLE {index.partition_name(d)} PARTITION OF {index.TABLE} "
                        f"FOR VALUES FROM ('{d} 00:00+00') TO ('{d + timedelta(days=1)} 00:00+00')")
        # Chunks of 5,000 rows, and every user's (object id, UPN key) pair, as index_chunk writes them.
        cur.execute(f"""
            INSERT INTO {index.CHUNKS} (id, repository, chunk, tenant_id, log_type, day, records)
            OVERRIDING SYSTEM VALUE
            SELECT c, '1', 'bench/audit/' || c || '.jsonl.zst', c %% {TENANTS}, 'audit', %s::date, 5000
            FROM generate_series(0, (%s - 1) / 5000) AS c""", [START.date(), rows])  # noqa: S608 - constants
        users = (f"INSERT INTO {index.USERS} SELECT u % {TENANTS}, 'uid-' || u, "  # noqa: S608 - constants
                 f"'user' || u || '@contoso.example' FROM generate_series(0, {USERS} - 1) AS u")
        cur.execute(users)
        # One INSERT ... SELECT generate_series: times spread evenly over the days, users and tenants mixed.
        cur.execute(f"""
            INSERT INTO {index.TABLE} ({', '.join(index.WRITTEN)})
            SELECT %s::timestamptz + (g * (%s::float / %s)) * interval '1 second', g %% {TENANTS}, g / 5000,
                   g %% 5000, 1, 'user' || (g %% {USERS}) || '@contoso.example', 'Directory_' || g,
                   'UserManagement', 'Update user', 'success', 'uid-' || (g %% {USERS}),
                   'user' || (g %% {USERS}) || '@contoso.example', '', '', ARRAY['t-' || (g %% 997)],
                   ARRAY['target ' || (g %% 997)], md5(g::text), '203.0.113.' || (g %% 250), 'Core Directory', ''
            FROM generate_series(0, %s - 1) AS g""", [START, DAYS * 86400, rows, rows])  # noqa: S608 - constants
        cur.execute(f"ANALYZE {index.TABLE}")
        cur.execute(f"ANALYZE {index.CHUNKS}")
        cur.execute(f"ANALYZE {index.USERS}")
    conn.commit()
    return time.monotonic() - started


def search(conn, queries: int, *, by: str = "upn", seed: int = 7) -> list[float]:
    """`by` = "upn" or "id" (the user's object id), or "none" (the tenant's newest records, no filter)."""
    rng, timings = random.Random(seed), []
    with conn.cursor() as cur:
        for _ in range(queries):
            user_no = rng.randrange(USERS)
            tenant = user_no % TENANTS  # that user's rows live in this tenant (g % USERS fixes g % TENANTS)
            start = START + timedelta(seconds=rng.randrange((DAYS - 7) * 86400))
            end = start + timedelta(days=rng.randint(1, 7))
            user = {"upn": f"user{user_no}@contoso.example", "id": f"uid-{user_no}", "none": None}[by]
            sql, args = index.search_sql(tenant, start, end, user=user)
            began = time.perf_counter()
            cur.execute(sql, args)
            found = cur.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
            if by == "none":
                assert len(found) == 51 and all(row[1] == tenant for row in found)
            else:
                assert all(row[8] == f"user{user_no}@contoso.example" for row in found)
    return sorted(timings)


def p95(timings: list[float]) -> float:
    return timings[max(0, int(len(timings) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ebi-", dir="/tmp"))
    try:
        server = localdb.ensure_running(root / "pg")
        localdb.ensure_database(server, "logindex")
        with psycopg.connect(server.conninfo("logindex")) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            fill_seconds = fill(conn, args.rows)
            search(conn, 20)  # warm the cache, as a running server has it
            timings = search(conn, args.queries)
            by_id = search(conn, args.queries, by="id", seed=8)
            browse = search(conn, max(10, args.queries // 10), by="none", seed=9)
            size = conn.execute("SELECT pg_size_pretty(sum(pg_relation_size(c.oid))), "
                                "pg_size_pretty(sum(pg_indexes_size(c.oid))) FROM pg_inherits i "
                                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
                                [index.TABLE]).fetchone()
    finally:
        localdb.stop(root / "pg")
        shutil.rmtree(root, ignore_errors=True)
    verdict = "meets" if p95(timings) <= FLOOR_MS else "MISSES"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    body = (f"Machine: {report.machine(f'PostgreSQL {version}')}; load average at the end {load}.\n"
            f"Command: `.venv/bin/python benchmarks/bench_logindex.py --rows {args.rows} --queries {args.queries}`.\n\n"
            f"| measure | value | floor |\n|---|---|---|\n"
            f"| rows indexed (generate_series, {DAYS} day partitions) | {args.rows:,} in {fill_seconds:.0f} s; "
            f"table {size[0]}, indexes {size[1]} | |\n"
            f"| search by user (UPN) and 1-7 day range, first page of 50: median | "
            f"{statistics.median(timings):.1f} ms | |\n"
            f"| same, **p95** | **{p95(timings):.1f} ms** | <= {FLOOR_MS:.0f} ms ({verdict}) |\n"
            f"| search by user (object id, through jobs_loguser): median / p95 | "
            f"{statistics.median(by_id):.1f} / {p95(by_id):.1f} ms | |\n"
            f"| no filter, a tenant's newest 50 in a 1-7 day range (BRIN only): median / p95 of {len(browse)} | "
            f"{statistics.median(browse):.0f} / {p95(browse):.0f} ms | |\n\n"
            "The rows are generated in the index tables themselves (SQL `generate_series`), not through Graph; the "
            "queries are the ones `jobs.selectors.log_records_search` runs (`jobs.logbackup.index.search_sql`). "
            "Indexes per day partition: BRIN on `at` and one btree `(tenant_id, user_key, at)`. Before (jobs/0004: "
            "a primary key and four btrees per partition), same command at a lower load: 10,000,000 rows in 524 s, user search "
            "median 8.3 ms, p95 31.2 ms.\n\n"
            "What the fewer indexes cost: a search with no user filter has only the BRIN range, so the tenant's "
            "newest page of a 1-7 day range reads every row of those days (here all 20 tenants' rows are "
            "interleaved row by row; a real chunk holds one tenant's records). The floor is about user and time; the "
            "log explorer should open on a short range or with a filter, or a `(tenant_id, at)` btree comes back at "
            "the price of index throughput (see the pipeline below).\n")
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
