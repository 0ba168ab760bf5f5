"""Benchmark: server time of the list pages (entrabackup/paging.py) with 200,000 restore points of one tenant.

    .venv/bin/python benchmarks/bench_lists.py [--tenants 1000] [--points 200000] [--requests 30] [--reuse]
                                              [--no-docs]

A database of its own (`bench_lists` on the local PostgreSQL in var/pg) is migrated and filled: `--tenants`
tenants with a backup job and a log job each, by bulk inserts; a local repository (`bench_lists_repository`) gets
`--points` committed restore points of the first tenant (one every 5 minutes, every 12th full, stats of two
types) and 5 of every other tenant, by INSERT ... SELECT over generate_series. Each page is then requested
through Django's test client as an administrator (every tenant visible) `--requests` times after two warm-ups;
the time from request to rendered response is the server time, reported as median and p95.
The restore points are asked at the first page, a middle page and the last page (keyset cursors taken at those
offsets), with and without a filter.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings_test")
os.environ["ENTRABACKUP_LOCALDB_NAME"] = "bench_lists"

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks import report  # noqa: E402
from benchmarks.bench_dashboard import timed  # noqa: E402
from entrabackup import localdb  # noqa: E402
from entrabackup.paging import Cursor  # noqa: E402
from jobs.models import BackupJob, LogJob  # noqa: E402
from repositories.models import LogRepository, Repository  # noqa: E402
from repositories.services import repository_add, repository_conninfo, repository_store  # noqa: E402
from tenants.models import Tenant  # noqa: E402

SECTION = "## List pages (tenants, jobs, restore points)"
FLOOR_MS = 100
REPOSITORY_DB = "bench_lists_repository"
NOTE = ("Where the time goes (cProfile of the restore points page, kind=full): about a third is the repository: opening its connection for the request (`repositories.services.repository_store`, with the local server's checks, ~17 ms) and the page and count queries (under 2 ms and ~5 ms with the indexes of repository migration 0005; before them, a JOIN on the tenant key sorted all 200,000 points, 64 ms, and an exact count read 200,000 index entries, 50 ms); the rest is rendering fifty rows. The first, middle and last pages cost the same: the keyset makes the page's depth free. Rows are made into text once in Python (`restore.lists.PointRow`, links from `paging.url_of`): the template's date filters and fifty reverses per page had cost 30-40 ms. A pooled repository connection is the next step.\n")  # "queries" count the configuration database's only
STATS = ("jsonb_build_object('user', jsonb_build_object('read', 20 + n % 50, 'new', n % 7, 'changed', n % 13),"
         " 'group', jsonb_build_object('read', n % 9, 'new', n % 2, 'changed', n % 5))")


def fill(tenants: int, points: int) -> float:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tenants_tenant, repositories_repository, repositories_logrepository, "
                       "jobs_proxy CASCADE")
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{REPOSITORY_DB}" WITH (FORCE)')
    repository = repository_add(name="Local", kind=Repository.Kind.LOCAL, database=REPOSITORY_DB)
    logs = LogRepository.objects.create(name="Log archive", path="/srv/logs")
    now = timezone.now()
    made = Tenant.objects.bulk_create([
        Tenant(name=f"Tenant {n:04d}", directory_id=f"t{n}.example", client_id="11111111-2222-3333-4444-555555555555",
               credential_type="secret", credential_updated_at=now, enabled=n % 10 != 9,
               check_status="failed" if n % 97 == 0 else "ok") for n in range(tenants)])
    BackupJob.objects.bulk_create([BackupJob(name=f"{t.name} directory", tenant=t, repository=repository,
                                             schedule_kind="hours", schedule_value="6", enabled=t.enabled)
                                   for t in made])
    LogJob.objects.bulk_create([LogJob(tenant=t, primary=logs) for t in made])
    with repository_store(repository) as store:
        for tenant in made:
            store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
    with psycopg.connect(repository_conninfo(repository)) as conn:
        sql = ("INSERT INTO restore_point (tenant_id, session_key, kind, state, started_at, committed_at, stats)"  # noqa: S608
               " SELECT t.id, t.key || '-' || n, CASE WHEN n %% 12 = 0 THEN 'full' ELSE 'incremental' END,"
               " 'committed', now() - (%s - n) * interval '5 minutes',"
               " now() - (%s - n) * interval '5 minutes' + interval '40 seconds', {STATS}"
               " FROM tenant t, generate_series(1, %s) n WHERE t.key = %s").replace("{STATS}", STATS.replace("%", "%%"))
        conn.execute(sql, [points, points, points, str(made[0].key)])
        for tenant in made[1:]:
            conn.execute(sql, [5, 5, 5, str(tenant.key)])
    with psycopg.connect(repository_conninfo(repository), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE restore_point")  # what autovacuum does after a bulk insert
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.monotonic() - started


def _admin_conninfo() -> str:
    return localdb.ensure_running(settings.LOCALDB_PGDATA).conninfo()


def cursor_at(repository, tenant, offset: int, kind: str | None = None) -> str:
    """The keyset cursor of the row just before `offset` in the list's order: the link to that page."""
    with psycopg.connect(repository_conninfo(repository)) as conn:
        when, pk = conn.execute(
            "SELECT r.committed_at, r.id FROM restore_point r JOIN tenant t ON t.id = r.tenant_id WHERE t.key = %s"
            " AND r.state = 'committed' AND (%s::text IS NULL OR r.kind = %s)"
            " ORDER BY r.committed_at DESC, r.id DESC OFFSET %s LIMIT 1",
            [str(tenant.key), kind, kind, offset - 1]).fetchone()
    return quote(Cursor.text(when, repository.pk, pk))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run when it is there")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    seconds = 0.0 if args.reuse and Tenant.objects.count() == args.tenants else fill(args.tenants, args.points)

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True,
                                                                                         "is_staff": True})
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    repository, tenant = Repository.objects.get(name="Local"), Tenant.objects.order_by("name").first()
    points = f"/restore/tenants/{tenant.pk}/points/"
    fulls = args.points // 12
    pages = [
        ("Tenants, first page", "/tenants/", {}),
        ("Tenants, name contains + enabled, page 10", "/tenants/?q=tenant&state=yes&page=10", {}),
        ("Jobs, last page (20)", "/jobs/?page=20", {}),
        ("Jobs, one tenant's (filter)", f"/jobs/?tenant={tenant.pk}", {}),
        ("Log jobs, page 10, HTMX table", "/jobs/logs/?page=10", {"HTTP_HX_REQUEST": "true"}),
        ("Restore (tenants with their points), first page", "/restore/", {}),
        ("Restore points, first page", points, {}),
        ("Restore points, middle page (keyset)", points + f"?after={cursor_at(repository, tenant, args.points // 2)}", {}),
        ("Restore points, last page (keyset)", points + f"?after={cursor_at(repository, tenant, args.points - 20)}", {}),
        ("Restore points, kind=full, first page", points + "?kind=full", {}),
        ("Restore points, kind=full, middle page",
         points + f"?kind=full&after={cursor_at(repository, tenant, fulls // 2, 'full')}", {}),
        ("Restore points, kind=full, last page",
         points + f"?kind=full&after={cursor_at(repository, tenant, fulls - 20, 'full')}", {}),
    ]
    load = os.getloadavg()[0]
    rows = [(what, *timed(client, url, args.requests, **headers)) for what, url, headers in pages]
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    lines = "\n".join(f"| {what} | {median:.1f} ms | {p95:.1f} ms | {'met' if p95 <= FLOOR_MS else 'MISSED'} | "
                      f"{queries} | {sql_ms:.1f} ms |" for what, median, p95, queries, sql_ms in rows)
    body = (f"Machine: {report.machine(version.split(',')[0])}; load average {load:.1f} when the timing started, "
            f"{os.getloadavg()[0]:.1f} when it ended.\n"
            f"Command: `.venv/bin/python benchmarks/bench_lists.py --tenants {args.tenants} --points {args.points} "
            f"--requests {args.requests}`.\n"
            f"{args.tenants:,} tenants with a job and a log job each; {args.points:,} committed restore points of one "
            f"tenant and 5 of each other in one repository "
            f"({f'filled in {seconds:.0f} s' if seconds else 'filled by a previous run, --reuse'}); Django's test "
            f"client as an administrator (every tenant visible), {args.requests} requests per page after two "
            f"warm-ups; floor: p95 at most {FLOOR_MS} ms (the issue's figure for the home and sessions pages).\n\n"
            "| page | median | p95 | floor | queries | their time (one request) |\n|---|---|---|---|---|---|\n"
            + lines + "\n\n" + NOTE)
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
