"""Reads shared by the jobs pages and commands, scoped to what a user may see."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django_q.status import Stat

from accounts.access import scope, scoped_or_404
from jobs.errors import JobError
from jobs.logbackup import index as logindex
from jobs.models import BackupJob, BackupSession, LogJob, LogSession, Proxy


@dataclass(frozen=True)
class ProxyStatus:
    """One running backup proxy (a django-q2 cluster) as it reports itself through the cache."""

    name: str
    host: str
    cluster_id: str
    status: str
    workers: int
    uptime_seconds: float


def proxies_running() -> list[ProxyStatus]:
    """The clusters that reported within the last few seconds (django-q2 keeps these in the cache), named
    as their proxies registered themselves (jobs/broker.py)."""
    stats = Stat.get_all()
    names = dict(Proxy.objects.filter(cluster_id__in=[str(s.cluster_id) for s in stats]).values_list("cluster_id", "name"))
    return [
        ProxyStatus(name=names.get(str(stat.cluster_id), stat.host), host=stat.host, cluster_id=str(stat.cluster_id),
                    status=stat.status, workers=len(stat.workers), uptime_seconds=stat.uptime())
        for stat in stats
    ]


def proxies_visible_to(user) -> list[ProxyStatus]:
    """Proxies run every tenant's sessions: shown only to those who may see tenants and their sessions (on at
    least one tenant; a proxy's name, host and workers name no tenant)."""
    if not (user.has_perm("jobs.view_backupsession") and user.has_perm("tenants.view_tenant")):
        return []
    return proxies_running()


def jobs_visible_to(user, perm: str = "jobs.view_backupjob") -> QuerySet[BackupJob]:
    """The backup jobs of the tenants on which `user` holds `perm`."""
    return scope(BackupJob.objects.select_related("tenant", "repository", "proxy"), user, perm)


def sessions_visible_to(user, perm: str = "jobs.view_backupsession") -> QuerySet[BackupSession]:
    """The backup sessions of the tenants on which `user` holds `perm`."""
    return scope(BackupSession.objects.select_related("job", "tenant"), user, perm)


def session_for(user, pk: int, perm: str = "jobs.view_backupsession") -> BackupSession:
    return scoped_or_404(BackupSession.objects.select_related("job", "tenant"), user, perm, pk=pk)


def job_for(user, pk: int, perm: str = "jobs.view_backupjob") -> BackupJob:
    return scoped_or_404(BackupJob.objects.select_related("tenant", "repository", "proxy"), user, perm, pk=pk)


def job_named(tenant, name: str) -> BackupJob:
    """The tenant's job with this name (any case), for commands; JobError otherwise."""
    job = BackupJob.objects.filter(tenant=tenant, name__iexact=name).first() if name.isprintable() else None
    if job is None:
        raise JobError(f"Tenant {tenant.name} has no job named {name[:100]!r}; see manage.py job_list.")
    return job


def proxy_named(name: str) -> Proxy:
    """The proxy with this name, for commands; JobError otherwise."""
    proxy = Proxy.objects.filter(name=name).first() if name.isprintable() else None
    if proxy is None:
        raise JobError(f"No proxy named {name[:100]!r}; the Sessions page lists the running ones.")
    return proxy


def log_records_search(tenant, *, start, end, user=None, app=None, activity=None, category=None, result=None,
                       target=None, ip=None, correlation_id=None, page: int = 1, per_page: int = 50) -> dict:
    """Indexed log records of `tenant` from `start` to `end` (inclusive), newest first, one page of them.

    `user` matches the initiating user's UPN (any case) or object id; `app` the application's id or name (any
    case); `target` a target's id or name;
    the others match exactly. Each row says where the record is stored (repository, chunk, line).
    Returns {"rows": [...], "page", "per_page", "has_next"}.
    """
    page, per_page = max(1, int(page)), max(1, min(500, int(per_page)))
    sql, args = logindex.search_sql(tenant.pk, start, end, user=user, app=app, activity=activity, category=category,
                                    result=result, target=target, ip=ip, correlation_id=correlation_id, page=page,
                                    per_page=per_page)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = [dict(zip(logindex.COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return {"rows": rows[:per_page], "page": page, "per_page": per_page, "has_next": len(rows) > per_page}


def log_records_count(tenant, *, start, end, cap: int = 10_000, **filters) -> tuple[int, bool]:
    """How many indexed records match the filters of `log_records_search`, counted up to `cap`:
    (count, exact). Past the cap the count stops (a full count of years of records would scan them all)."""
    sql, args = logindex.search_sql(tenant.pk, start, end, page=1, per_page=cap, **filters)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS matched", args)  # noqa: S608 - search_sql's own query
        found = cursor.fetchone()[0]
    return min(found, cap), found <= cap


def log_records_with_ids(tenant, *, log_type: str, record_ids: list[str]) -> list[dict]:
    """The indexed records of `tenant` with these ids (for restore plans that revert audit records), each with
    where it is stored (repository, chunk, line). No index covers record ids: this reads the tenant's rows of
    every day, so callers that know the records' times should search by time instead."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r.record_id, c.repository, c.chunk, r.line FROM {logindex.TABLE} r "  # noqa: S608
                       f"JOIN {logindex.CHUNKS} c ON c.id = r.chunk_id WHERE r.tenant_id = %s AND r.log_type = %s "
                       "AND r.record_id = ANY(%s)", [tenant.pk, logindex.CODES[log_type], list(record_ids)])
        return [dict(zip(("record_id", "repository", "chunk", "line"), row, strict=True)) for row in cursor.fetchall()]


def log_jobs_visible_to(user, perm: str = "jobs.view_logsession"):
    """Log jobs of the tenants on which `user` holds `perm` (their sessions' permission: one page shows both)."""
    return scope(LogJob.objects.select_related("tenant", "primary", "secondary"), user, perm)


def log_sessions_visible_to(user, perm: str = "jobs.view_logsession"):
    """Log sessions of the tenants on which `user` holds `perm`, newest first."""
    return scope(LogSession.objects.select_related("job", "tenant"), user, perm)

