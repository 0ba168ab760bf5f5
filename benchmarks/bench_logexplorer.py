"""Benchmark: the log explorer's queries on the log record index, with their plans.

    .venv/bin/python benchmarks/bench_logexplorer.py [--rows 10000000] [--no-docs]

The index table is filled as benchmarks/bench_logindex.py fills it (30 day partitions, 20 tenants, 20,000 users,
SQL generate_series), then each query the explorer runs through jobs.selectors.log_records_search
(jobs.logbackup.index.search_sql) and the capped count of jobs.selectors.log_records_count is timed (median
of 3 after a warm-up) and its plan's access paths are recorded, both as one query over the whole range and as
the explorer runs it (restore.logexplorer: windows widening from 1 hour at the range's end).
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

# (what, search_sql keyword arguments, kind): the explorer's queries on 30 days of one tenant. "page" and
# "count" are one query over the whole range (what log_records_search / log_records_count cost alone, and
# what the page runs for a user search); "windowed" ones are what the page runs without a user filter
# (restore.logexplorer: windows of 1 h at the range's end, x8).
QUERIES = [
    ("first page, no filter", {}, "page"),
    ("first page, no filter", {}, "page windowed"),
    ("count, no filter (capped at 5,000)", {}, "count"),
    ("count, no filter (capped at 5,000)", {}, "count windowed"),
    ("page 200 (offset 9,950)", {"page": 200}, "page windowed"),
    ("user (UPN)", {"user": "user23@contoso.example"}, "page"),
    ("count, user", {"user": "user23@contoso.example"}, "count"),
    ("correlation id", {"correlation_id": "eccbc87e4b5ce2fe28308fd9f2a7baa3"}, "page windowed"),
    ("activity, common", {"activity": "Update user"}, "page windowed"),
    ("activity, matching nothing", {"activity": "Delete group"}, "page windowed"),
    ("target, 1 in 997 records", {"target": "t-5"}, "page windowed"),
    ("IP address, 1 in 250 records", {"ip": "203.0.113.3"}, "page windowed"),
    ("a record's instant (detail, ticked export)", {"start": AT, "end": AT, "per_page": 500}, "page"),
    ("export step: 500 rows before an instant", {"end": START + timedelta(days=12), "per_page": 500},
     "page windowed"),
]


def instant(rows: int):
    """The time bench_logindex gives row g = 1,000,003 (one of tenant 3's)."""
    g = 1_000_003 % rows
    return START + timedelta(seconds=g * (bench_logindex.DAYS * 86400 / rows))


def _query(kwargs: dict, kind: str, low) -> tuple[str, list]:
    if kind.startswith("count"):
        sql, args = index.search_sql(TENANT, low, kwargs["end"], page=1, per_page=COUNT_CAP,
                                     **{k: v for k, v in kwargs.items() if k not in ("start", "end")})
        return f"SELECT count(*) FROM ({sql}) AS matched", args  # noqa: S608 - log_records_count's query
    return index.search_sql(TENANT, low, kwargs["end"], **{k: v for k, v in kwargs.items() if k not in ("start", "end")})


def run(cur, kwargs: dict, kind: str) -> tuple[list, tuple[str, list], int]:
    """The rows, the last query (SQL and arguments) and the number of queries (windows tried)."""
    window, queries = timedelta(hours=1), 0
    while True:
        low = max(kwargs["start"], kwargs["end"] - window) if "windowed" in kind else kwargs["start"]
        sql, args = _query(kwargs, kind, low)
        cur.execute(sql, args)
        found, queries = cur.fetchall(), queries + 1
        full = found[0][0] > COUNT_CAP if kind.startswith("count") else len(found) > kwargs.get("per_page", 50)
        if low <= kwargs["start"] or full:
            return found, (sql, args), queries
        window *= 8


def measure(conn, kwargs: dict, kind: str, rows: int) -> tuple[float, int, int, str]:
    kwargs = {"start": START, "end": END, **{k: instant(rows) if v is AT else v for k, v in kwargs.items()}}
    timings = []
    with conn.cursor() as cur:
        for _ in range(4):
            began = time.perf_counter()
            found, sql, queries = run(cur, kwargs, kind)
            timings.append((time.perf_counter() - began) * 1000)
        cur.execute("EXPLAIN (COSTS OFF) " + sql[0], sql[1])
        plan = " ".join(row[0] for row in cur.fetchall())
    count = min(found[0][0], COUNT_CAP) if kind.startswith("count") else len(found)
    return statistics.median(timings[1:]), count, queries, access_paths(plan)


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
            results = [(what, kind, *measure(conn, kwargs, kind, args.rows)) for what, kwargs, kind in QUERIES]
    finally:
        localdb.stop(root / "pg")
        shutil.rmtree(root, ignore_errors=True)
    lines = "\n".join(f"| {what} | {kind} | {n} | {queries} | {ms:.1f} ms | {paths} |"
                      for what, kind, ms, n, queries, paths in results)
    body = (f"Machine: {report.machine(f'PostgreSQL {version}')}.\n"
            f"Command: `.venv/bin/python benchmarks/bench_logexplorer.py --rows {args.rows}`.\n"
            f"{args.rows:,} rows indexed in {fill_seconds:.0f} s; one tenant's 30 days (500,000 rows at 10M), "
            "median of 3 after a warm-up.\n\n"
            "| query | how | rows (page of 50 + 1) | queries | time | access path (last query) |\n"
            f"|---|---|---|---|---|---|\n{lines}\n")
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
