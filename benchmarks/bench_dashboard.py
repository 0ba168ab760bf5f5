"""Benchmark: server time of the home page and the Sessions page with 1,000 tenants and 500,000 sessions.

    .venv/bin/python benchmarks/bench_dashboard.py [--tenants 1000] [--sessions 500000] [--requests 40] [--reuse]
                                                  [--no-docs]

A database of its own (`bench_dashboard` on the local PostgreSQL in var/pg) is migrated and filled: tenants,
repositories and jobs by bulk inserts, sessions by INSERT ... SELECT over generate_series (four fifths backup
sessions, one every 6 hours per tenant, one in 30 failed, full every 28th; one fifth log sessions, daily),
ten sessions running. Then each page is requested through Django's test client as an administrator (every
tenant visible: the widest scope) `--requests` times after two warm-ups; the time from request to rendered
response is the server time, reported as median and p95 beside the floor of 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings_test")
os.environ["ENTRABACKUP_LOCALDB_NAME"] = "bench_dashboard"

import django  # noqa: E402

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

import entrabackup.wsgi  # noqa: E402, F401 - the server's own start-up (it freezes what it loaded out of the GC's sight)
from benchmarks import report  # noqa: E402
from jobs.models import BackupJob, LogJob  # noqa: E402
from repositories.models import LogRepository, Repository  # noqa: E402
from tenants.models import Tenant  # noqa: E402

SECTION = "## Dashboard and Sessions pages"
FLOOR_MS = 100
SCHEDULES = [("hours", "1"), ("hours", "6"), ("daily", "02:00"), ("minutes", "15"), ("cron", "0 */4 * * *")]
STATS = """jsonb_build_object(
    'user', jsonb_build_object('mode', CASE WHEN n % 28 = 0 THEN 'full' ELSE 'delta' END,
                               'read', CASE WHEN n % 28 = 0 THEN 5000 ELSE 20 + g % 50 END,
                               'new', g % 7, 'changed', g % 13, 'deleted', g % 3, 'unchanged', 0),
    'group', jsonb_build_object('mode', CASE WHEN n % 28 = 0 THEN 'full' ELSE 'delta' END,
                                'read', CASE WHEN n % 28 = 0 THEN 800 ELSE g % 9 END,
                                'new', g % 2, 'changed', g % 5, 'deleted', 0, 'unchanged', 0))"""


def fill(tenants: int, sessions: int) -> float:
    """Empty the tables, then add the tenants, jobs and sessions. Returns the seconds it took."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tenants_tenant, repositories_repository, repositories_logrepository, "
                       "jobs_proxy, jobs_tenantsummary CASCADE")
    now = timezone.now()
    repository = Repository.objects.create(name="Local", database="unused", size_bytes=48_000_000_000)
    logs = LogRepository.objects.create(name="Log archive", path="/srv/logs", usage_bytes=9_000_000_000)
    made = Tenant.objects.bulk_create([
        Tenant(name=f"Tenant {n:04d}", directory_id=f"t{n}.example", client_id="11111111-2222-3333-4444-555555555555",
               credential_type="secret", credential_updated_at=now, check_status="failed" if n % 97 == 0 else "ok")
        for n in range(tenants)])
    BackupJob.objects.bulk_create([
        BackupJob(name=f"{t.name} directory", tenant=t, repository=repository, schedule_kind=SCHEDULES[i % 5][0],
                  schedule_value=SCHEDULES[i % 5][1]) for i, t in enumerate(made)])
    LogJob.objects.bulk_create([LogJob(tenant=t, primary=logs) for t in made])
    backups, log_sessions = sessions * 4 // 5, sessions - sessions * 4 // 5
    with connection.cursor() as cursor:
        _sessions(cursor, "jobs_backupsession", "jobs_backupjob", backups // tenants, 6)
        _sessions(cursor, "jobs_logsession", "jobs_logjob", log_sessions // tenants, 24)
        cursor.execute("UPDATE jobs_backupsession SET status = 'running', ended_at = NULL, restore_point_id = NULL "
                       "WHERE id IN (SELECT max(id) FROM jobs_backupsession GROUP BY tenant_id ORDER BY 1 LIMIT 10)")
        cursor.execute("ANALYZE")
    return time.monotonic() - started


def _sessions(cursor, table: str, jobs: str, per_tenant: int, every_hours: int) -> None:
    """`per_tenant` sessions of each job, the newest an hour ago, `every_hours` apart, by one INSERT ... SELECT."""
    backup = table == "jobs_backupsession"
    extra_cols = ("kind, ran_full, object_types, attempt, graph_stats, restore_point_id, not_before, retry_of_id, "
                  if backup else "")
    extra_vals = ("'auto', n % 28 = 0, '[]'::jsonb, 1, '{}'::jsonb, CASE WHEN g % 30 = 0 THEN NULL ELSE g END, "
                  "NULL, NULL, " if backup else "")
    stats = STATS if backup else ("jsonb_build_object('audit', jsonb_build_object('new', 200 + g % 900, "
                                  "'bytes', 95 * (200 + g % 900)))")
    sql = f"""
        INSERT INTO {table} (job_id, tenant_id, status, {extra_cols} trigger, queued_at, started_at, ended_at,
                             heartbeat_at, proxy_name, cancel_requested, progress, stats, warnings, error, failure,
                             log, requested_by_id, cancelled_by_id, cancelled_at)
        SELECT j.id, j.tenant_id, CASE WHEN g % 30 = 0 THEN 'failed' ELSE 'success' END, {extra_vals}
               'schedule', q, q + interval '2 seconds', q + interval '2 seconds' + (30 + g % 300) * interval '1 second',
               NULL, 'proxy-1', false, '{{}}'::jsonb, {stats}, '[]'::jsonb,
               CASE WHEN g % 30 = 0 THEN 'Graph answered 503 three times.' ELSE '' END,
               CASE WHEN g % 30 = 0 THEN 'transient' ELSE '' END, '', NULL, NULL, NULL
        FROM {jobs} j, generate_series(1, %s) AS n,
             LATERAL (SELECT j.id * 100000 + n AS g,
                             now() - interval '1 hour' - n * interval '{every_hours} hours'
                             - (j.id % 300) * interval '1 minute' AS q) AS x"""  # noqa: S608 - our own names
    cursor.execute(sql.replace(" % ", " %% "), [per_tenant])  # a literal modulo beside a parameter


def timed(client: Client, url: str, requests: int, **headers) -> tuple[float, float, int, float]:
    """Median and p95 (ms) of the server time of `url` after two warm-up requests, and the number of queries
    of one request with the time (ms) they took, as the client saw it."""
    for _ in range(2):
        assert client.get(url, **headers).status_code in (200, 286), url
    connection.queries_log.clear()  # a full log (it keeps 9,000) would hide the new ones
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    queries = captured.captured_queries
    sql_ms = sum(float(q["time"]) for q in queries) * 1000
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 286), (url, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)], len(queries), sql_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run when it is there")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the proxies' status reports (django-q2's Stat)
    seconds = 0.0 if args.reuse and Tenant.objects.count() == args.tenants else fill(args.tenants, args.sessions)
    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True,
                                                                                         "is_staff": True})
    # Not setup_test_environment(): it instruments every template render (the test suite's context capture),
    # which is not server time. The host is one the settings allow.
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    tenant = Tenant.objects.order_by("name")[500].pk
    before = timezone.now() - timezone.timedelta(days=30)
    pages = [
        ("Home (first 25 tenants, 3 charts)", "/", {}),
        ("Home, HTMX refresh of the board", "/", {"HTTP_HX_REQUEST": "true"}),
        ("Home, page 20, a tenant's charts", f"/?page=20&chart={tenant}", {}),
        ("Sessions, first page (every kind)", "/jobs/sessions/", {}),
        ("Sessions, failed backups of one tenant", f"/jobs/sessions/?tenant={tenant}&kind=backup&status=failed", {}),
        ("Sessions, failed in a date range", "/jobs/sessions/?status=failed&start=2026-06-01&end=2026-09-30", {}),
        ("Sessions, a page 30 days back (keyset)",
         f"/jobs/sessions/?before={before.isoformat().replace('+', '%2B')}_999999999", {}),
        ("Sessions, HTMX poll", "/jobs/sessions/", {"HTTP_HX_REQUEST": "true"}),
    ]
    rows = [(what, *timed(client, url, args.requests, **headers)) for what, url, headers in pages]
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM jobs_backupsession), (SELECT count(*) FROM jobs_logsession), "
                       "version()")
        backups, logs, version = cursor.fetchone()
    lines = "\n".join(f"| {what} | {median:.1f} ms | {p95:.1f} ms | {'met' if p95 <= FLOOR_MS else 'MISSED'} | "
                      f"{queries} | {sql_ms:.1f} ms |" for what, median, p95, queries, sql_ms in rows)
    body = (f"Machine: {report.machine(version.split(',')[0])}; load average {os.getloadavg()[0]:.1f} "
            f"when the timing started.\n"
            f"Command: `.venv/bin/python benchmarks/bench_dashboard.py --tenants {args.tenants} --sessions "
            f"{args.sessions} --requests {args.requests}`.\n"
            f"{args.tenants:,} tenants, {backups:,} backup sessions and {logs:,} log sessions "
            f"({f'filled in {seconds:.0f} s' if seconds else 'filled by a previous run, --reuse'});"
            f" Django's test client as an administrator (every tenant visible), {args.requests} requests per page "
            f"after two warm-ups; floor: p95 at most {FLOOR_MS} ms.\n\n"
            "| page | median | p95 | floor | queries | their time (one request) |\n|---|---|---|---|---|---|\n"
            + lines + "\n\n"
            "The last two columns are the queries of one request and the time the client waited for them; the rest "
            "of a request is Python (middleware, the selectors' rows, template rendering). The machine is shared by "
            "other work: figures of two runs minutes apart differ by up to 2x at these loads.\n")
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
