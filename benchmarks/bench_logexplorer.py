"""Benchmark: the log explorer's queries on the log record index, with their plans.

    .venv/bin/python benchmarks/bench_logexplorer.py [--rows 10000000] [--no-docs]

The index table is filled as benchmarks/bench_logindex.py fills it (30 day partitions, 20 tenants, 20,000 users,
SQL generate_series), then each query the explorer runs through jobs.selectors.log_records_search
(jobs.logbackup.index.search_sql) and the capped count of jobs.selectors.log_records_count is timed (median
of 5 after a warm-up) and its plan's access paths are recorded. One tenant holds 500,000 rows per 30 days here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_logindex, report  # noqa: E402
from entrabackup import localdb  # noqa: E402
from jobs.logbackup import index  # noqa: E402

SECTION = "## Log explorer queries"
TENANT = 3
START, END = bench_logindex.START, bench_logindex.START + timedelta(days=29)
COUNT_CAP = 5000  # restore.logexplorer.COUNT_CAP
AT = "instant"  # replaced by the time of one of the tenant's records (see instant())

# (what, search_sql keyword arguments, counted): the explorer's page queries, 30 days of one tenant.
QUERIES = [
    ("first page, no filter", {}, False),
    ("count, no filter (capped)", {}, True),
    ("page 200 (offset 9,950)", {"page": 200}, False),
    ("user (UPN)", {"user": "user23@contoso.example"}, False),
    ("count, user", {"user": "user23@contoso.example"}, True),
    ("correlation id", {"correlation_id": "eccbc87e4b5ce2fe28308fd9f2a7baa3"}, False),
    ("activity, common", {"activity": "Update user"}, False),
    ("activity, matching nothing", {"activity": "Delete group"}, False),
    ("target, 1 in 997 records", {"target": "t-5"}, False),
    ("IP address, 1 in 250 records", {"ip": "203.0.113.3"}, False),
    ("a record's instant (detail, ticked export)", {"start": AT, "end": AT, "per_page": 500}, False),
    ("export step: 500 rows before an instant", {"end": START + timedelta(days=12), "per_page": 500}, False),
]


def instant(rows: int):
    """The time bench_logindex gives row g = 1,000,003 (one of tenant 3's)."""
    g = 1_000_003 % rows
    return START + timedelta(seconds=g * (bench_logindex.DAYS * 86400 / rows))


def measure(conn, kwargs: dict, counted: bool, rows: int) -> tuple[float, int, str]:
    kwargs = {k: instant(rows) if v is AT else v for k, v in kwargs.items()}
    start, end = kwargs.pop("start", START), kwargs.pop("end", END)
    if counted:
        sql, args = index.search_sql(TENANT, start, end, page=1, per_page=COUNT_CAP, **kwargs)
        sql = f"SELECT count(*) FROM ({sql}) AS matched"  # noqa: S608 - log_records_count's query
    else:
        sql, args = index.search_sql(TENANT, start, end, **kwargs)
    timings = []
    with conn.cursor() as cur:
        for _ in range(6):
            began = time.perf_counter()
            cur.execute(sql, args)
            found = cur.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
        cur.execute("EXPLAIN (COSTS OFF) " + sql, args)
        plan = " ".join(row[0] for row in cur.fetchall())
    return statistics.median(timings[1:]), found[0][0] if counted else len(found), access_paths(plan)


def access_paths(plan: str) -> str:
    kinds = [k for k in ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Seq Scan") if k in plan]
    names = sorted({word.split("_", 3)[-1] for word in plan.split() if word.startswith(f"{index.TABLE}_2")
                    and word.endswith(("_idx", "_pkey"))})
    return ", ".join(kinds) + (f" ({', '.join(names)})" if names else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ebx-", dir="/tmp"))
    try:
        server = localdb.ensure_running(root / "pg")
        localdb.ensure_database(server, "logindex")
        with psycopg.connect(server.conninfo("logindex")) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            fill_seconds = bench_logindex.fill(conn, args.rows)
            results = [(what, *measure(conn, kwargs, counted, args.rows)) for what, kwargs, counted in QUERIES]
    finally:
        localdb.stop(root / "pg")
        shutil.rmtree(root, ignore_errors=True)
    lines = "\n".join(f"| {what} | {n} | {ms:.1f} ms | {paths} |" for what, ms, n, paths in results)
    body = (f"Machine: {report.machine(f'PostgreSQL {version}')}.\n"
            f"Command: `.venv/bin/python benchmarks/bench_logexplorer.py --rows {args.rows}`.\n"
            f"{args.rows:,} rows indexed in {fill_seconds:.0f} s; one tenant's 30 days, median of 5 after a warm-up.\n\n"
            f"| query | rows (page of 50 + 1) | time | access path (per day partition) |\n|---|---|---|---|\n{lines}\n")
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
