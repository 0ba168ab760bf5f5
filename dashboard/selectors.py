"""What the dashboard shows a user: only the tenants (and their sessions) that user may see.

Built to stay fast with a thousand tenants and hundreds of thousands of sessions: one query judges every
visible tenant from its summary row (its last backup and its newest restore point, jobs.TenantSummary, kept
by the database as sessions end), a few more fill the page of tenants shown and the charts of one tenant. Counts of objects and changes come
from what each session recorded when its restore point committed (the same per-type counts the repository
keeps with the restore point), never from scanning objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Exists, F, FloatField, Func, OuterRef
from django.utils import timezone

from accounts.access import scope, tenants_for
from dashboard.charts import Series, bar_chart
from entrabackup import humanize
from jobs.models import BackupJob, BackupSession, LogJob, LogSession
from jobs.schedules import overdue_at, overdue_before
from jobs.sessionlist import proxies_health, url_of
from repositories.models import LogRepository, Repository
from tenants.models import Tenant
from tenants.services import credential_expiry_warning

PER_PAGE = 25
RECENT_POINTS = 5  # restore points whose changes the tenant table shows
CHART_POINTS = 20
FINISHED = [str(s) for s in BackupSession.FINISHED]
PROBLEM_STATUSES = ("failed", "interrupted")
SESSIONS, LOG_SESSIONS = "jobs.view_backupsession", "jobs.view_logsession"


def tenants_of(user):
    """The tenants the dashboard shows `user`: those it may see, and see the backup sessions of."""
    return scope(tenants_for(user, "tenants.view_tenant"), user, SESSIONS, field="pk")


@dataclass
class TenantRow:
    """One tenant in the table: its last results, how fresh its backup is, and what needs a look."""

    pk: int
    name: str
    check_status: str
    last_status: str | None
    newest_epoch: float | None  # seconds: timestamps of a thousand rows load ten times faster as numbers
    jobs: list = field(default_factory=list)
    newest_point_at: datetime | None = None  # filled for the page shown
    overdue: bool = False
    overdue_since: datetime | None = None  # filled for the page shown
    last_backup: dict | None = None
    backup_running: bool = False
    last_log: dict | None = None
    log_running: bool = False
    changes: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return url_of("tenants:tenant_detail", self.pk)

    @property
    def last_backup_url(self) -> str:
        return url_of("jobs:session_detail", self.last_backup["pk"]) if self.last_backup else ""

    @property
    def last_log_url(self) -> str:
        return url_of("jobs:log_session_detail", self.last_log["pk"]) if self.last_log else ""

    @property
    def cannot_connect(self) -> bool:
        return self.check_status == Tenant.CheckStatus.FAILED

    @property
    def check_label(self) -> str:
        return Tenant.CheckStatus(self.check_status).label

    @property
    def failed(self) -> bool:
        return self.last_status in PROBLEM_STATUSES

    @property
    def attention(self) -> bool:
        return self.cannot_connect or self.failed or self.overdue

    @property
    def point_age(self) -> timedelta | None:
        return timezone.now() - self.newest_point_at if self.newest_point_at else None

    @property
    def schedules(self) -> str:
        return "; ".join(humanize.schedule(j["schedule_kind"], j["schedule_value"]) for j in self.jobs) or "no job"

    @property
    def repositories(self) -> list[int]:
        return sorted({j["repository_id"] for j in self.jobs})


@dataclass
class Dashboard:
    rows: list[TenantRow]  # the page shown
    total: int
    ready: int
    cannot_connect: int
    overdue: int
    failed: int
    page: int
    pages: int
    only_attention: bool
    recent: dict[str, int]  # backup session statuses of the last 24 hours
    failures: list  # the latest failed sessions
    proxies: list
    repositories: dict[int, Repository]
    log_repositories: list
    charts: dict | None
    chart_tenant: TenantRow | None


JOB_FIELDS = ("tenant_id", "schedule_kind", "schedule_value", "repository_id", "created_epoch")


class Judged(NamedTuple):
    """A tenant as the whole board counts it; a TenantRow is made only for the page shown (a thousand
    dataclasses and their properties cost more than the query)."""

    pk: int
    name: str
    check_status: str
    last_status: str | None
    newest_epoch: float | None
    jobs: list  # (tenant_id, schedule_kind, schedule_value, repository_id, created_epoch) of its enabled jobs
    overdue: bool
    attention: bool

    def row(self) -> TenantRow:
        return TenantRow(self.pk, self.name, self.check_status, self.last_status, self.newest_epoch,
                         jobs=[dict(zip(JOB_FIELDS, job, strict=True)) for job in self.jobs], overdue=self.overdue)


def _judge_all(user) -> list[Judged]:
    """Every visible tenant with its last finished backup status and newest restore point, from its summary
    row (jobs.TenantSummary, kept by the database as sessions end): a thousand small rows, no session probed;
    overdue when one of its enabled jobs' schedules says so."""
    tenants = tenants_of(user).annotate(
        last_status=F("session_summary__last_backup_status"), newest=_epoch(F("session_summary__newest_point_at")),
    ).order_by("name").values_list("pk", "name", "check_status", "last_status", "newest")
    jobs = BackupJob.objects.filter(tenant__in=tenants_of(user), enabled=True).annotate(
        created=_epoch(F("created_at"))).values_list("tenant_id", "schedule_kind", "schedule_value", "repository_id",
                                                     "created")
    rows, jobs = _fetch(tenants), _fetch(jobs)
    jobs_of: dict[int, list] = {}
    for job in jobs:
        jobs_of.setdefault(job[0], []).append(job)
    now, thresholds, judged = timezone.now(), {}, []
    for pk, name, check_status, last_status, newest in rows:
        overdue = False
        for job in jobs_of.get(pk, ()):
            schedule = (job[1], job[2])
            if schedule not in thresholds:  # once per distinct schedule, not per tenant
                before = overdue_before(*schedule, now=now, tz=settings.TIME_ZONE)
                thresholds[schedule] = before.timestamp() if before is not None else None
            threshold = thresholds[schedule]
            overdue = overdue or (threshold is not None and (newest or job[4]) < threshold)
        attention = check_status == Tenant.CheckStatus.FAILED or last_status in PROBLEM_STATUSES or overdue
        judged.append(Judged(pk, name, check_status, last_status, newest, jobs_of.get(pk, []), overdue, attention))
    return judged


def _fetch(queryset) -> list[tuple]:
    """The rows of a values_list() through the cursor: Django's per-value converters cost more than the query
    for a thousand rows."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a user who sees no tenant
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _epoch(expression) -> Func:
    return Func(expression, template="date_part('epoch', %(expressions)s)", output_field=FloatField())


def _overdue_since(row: TenantRow) -> datetime | None:
    """The earliest moment one of the tenant's scheduled jobs became overdue."""
    moments = [overdue_at(job["schedule_kind"], job["schedule_value"], tz=settings.TIME_ZONE,
                          since=datetime.fromtimestamp(row.newest_epoch or job["created_epoch"], tz=UTC))
               for job in row.jobs]
    return min((m for m in moments if m is not None), default=None)


def _fill_page(rows: list[TenantRow], logs_of: set[int]) -> None:
    """Last backup and log results (of the tenants in `logs_of`, whose log sessions the user may see), running
    sessions and the recent restore points' changes of these tenants."""
    ids = [row.pk for row in rows]
    if not ids:
        return
    by_pk = {row.pk: row for row in rows}
    sql = """
        SELECT t.id, b.id, b.status, b.ended_at, b.error, ab.id, l.id, l.status, l.ended_at, l.error, al.id
        FROM unnest(%s::bigint[]) AS t(id)
        LEFT JOIN LATERAL (SELECT id, status, ended_at, error FROM jobs_backupsession s WHERE s.tenant_id = t.id
                           AND s.status = ANY(%s) ORDER BY s.queued_at DESC, s.id DESC LIMIT 1) b ON true
        LEFT JOIN LATERAL (SELECT id FROM jobs_backupsession s WHERE s.tenant_id = t.id
                           AND s.status IN ('queued', 'running') LIMIT 1) ab ON true
        LEFT JOIN LATERAL (SELECT id, status, ended_at, error FROM jobs_logsession s WHERE s.tenant_id = t.id
                           AND s.status = ANY(%s) ORDER BY s.queued_at DESC, s.id DESC LIMIT 1) l ON true
        LEFT JOIN LATERAL (SELECT id FROM jobs_logsession s WHERE s.tenant_id = t.id
                           AND s.status IN ('queued', 'running') LIMIT 1) al ON true"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, FINISHED, FINISHED])
        for pk, b_id, b_status, b_end, b_error, ab, l_id, l_status, l_end, l_error, al in cursor.fetchall():
            row = by_pk[pk]
            row.last_backup = {"pk": b_id, "status": b_status, "ended_at": b_end, "error": b_error} if b_id else None
            if pk in logs_of and l_id:
                row.last_log = {"pk": l_id, "status": l_status, "ended_at": l_end, "error": l_error}
            row.backup_running, row.log_running = ab is not None, al is not None and pk in logs_of
    for pk, points in restore_points_of(ids, RECENT_POINTS).items():
        by_pk[pk].changes = [p["changes"] for p in points]
        by_pk[pk].newest_point_at = points[0]["ended_at"] if points else None
    for row in rows:
        row.overdue_since = _overdue_since(row) if row.overdue else None


def restore_points_of(tenant_ids: list[int], limit: int) -> dict[int, list[dict]]:
    """The newest `limit` restore points of each tenant, newest first, with the counts their sessions recorded:
    {"session", "restore_point", "ended_at", "full", "read", "changes", "new", "deleted"}."""
    # The per-type counts summed by PostgreSQL (a count absent or not a number is 0): decoding a hundred
    # sessions' stats in Python cost more.
    sql = """
        SELECT t.id, s.id, s.restore_point_id, s.ended_at, s.ran_full, c.read, c.new, c.changed, c.deleted
        FROM unnest(%s::bigint[]) AS t(id)
        JOIN LATERAL (SELECT id, queued_at, restore_point_id, ended_at, ran_full, stats FROM jobs_backupsession x
                      WHERE x.tenant_id = t.id AND x.restore_point_id IS NOT NULL
                      ORDER BY x.queued_at DESC, x.id DESC LIMIT %s) s ON true
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(CASE WHEN jsonb_typeof(v->'read') = 'number' THEN trunc((v->>'read')::numeric) END), 0)::bigint AS read,
                   coalesce(sum(CASE WHEN jsonb_typeof(v->'new') = 'number' THEN trunc((v->>'new')::numeric) END), 0)::bigint AS new,
                   coalesce(sum(CASE WHEN jsonb_typeof(v->'changed') = 'number' THEN trunc((v->>'changed')::numeric) END), 0)::bigint AS changed,
                   coalesce(sum(CASE WHEN jsonb_typeof(v->'deleted') = 'number' THEN trunc((v->>'deleted')::numeric) END), 0)::bigint AS deleted
            FROM jsonb_each(CASE jsonb_typeof(s.stats) WHEN 'object' THEN s.stats END) AS e(k, v)
            WHERE jsonb_typeof(v) = 'object') c
        ORDER BY t.id, s.queued_at DESC, s.id DESC"""
    found: dict[int, list[dict]] = {pk: [] for pk in tenant_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_ids, limit])
        for pk, session, point, ended_at, full, read, new, changed, deleted in cursor.fetchall():
            found[pk].append({"session": session, "restore_point": point, "ended_at": ended_at, "full": full,
                              "read": read, "new": new, "deleted": deleted, "changes": new + changed + deleted})
    return found


def dashboard_for(user, *, page: int = 1, only_attention: bool = False, chart_tenant: int | None = None) -> Dashboard:
    """The home page of `user`: every visible tenant judged, one page of them filled in, cards and charts."""
    judged = _judge_all(user)
    shown = [tenant for tenant in judged if tenant.attention] if only_attention else list(judged)
    shown.sort(key=lambda tenant: (not tenant.attention, tenant.name.lower()))
    pages = max(1, -(-len(shown) // PER_PAGE))
    page = min(max(1, page), pages)
    rows = [tenant.row() for tenant in shown[(page - 1) * PER_PAGE:page * PER_PAGE]]
    _fill_page(rows, logs_of={r.pk for r in rows if user.has_perm(LOG_SESSIONS, Tenant(pk=r.pk))})
    chosen = next((row for row in rows if row.pk == chart_tenant), None)
    if chosen is None:
        chosen = next((t.row() for t in judged if t.pk == chart_tenant), None) or (rows[0] if rows else None)
    return Dashboard(
        rows=rows, total=len(judged), ready=sum(t.check_status == "ok" for t in judged),
        cannot_connect=sum(t.check_status == Tenant.CheckStatus.FAILED for t in judged),
        overdue=sum(t.overdue for t in judged), failed=sum(t.last_status in PROBLEM_STATUSES for t in judged),
        page=page, pages=pages, only_attention=only_attention,
        recent=_recent_statuses(user), failures=_failures(user), proxies=proxies_health(user, has_tenants=True) if judged else [],
        repositories=Repository.objects.in_bulk() if judged and user.has_perm("repositories.view_repository") else {},
        log_repositories=_log_repositories(user) if judged else [],
        charts=charts_of(chosen.pk, chosen.name, logs=user.has_perm(LOG_SESSIONS, Tenant(pk=chosen.pk)))
        if chosen else None, chart_tenant=chosen)


def _log_repositories(user) -> list[LogRepository]:
    """The log repositories the user's tenants write to, if the user may see log repositories."""
    if not user.has_perm("repositories.view_logrepository"):
        return []
    used = LogJob.objects.filter(primary=OuterRef("pk"), tenant__in=tenants_for(user, "jobs.view_logjob"))
    return list(LogRepository.objects.filter(Exists(used)).order_by("name")[:20])


def _recent_statuses(user) -> dict[str, int]:
    since = timezone.now() - timedelta(hours=24)
    counts = (scope(BackupSession.objects.filter(queued_at__gte=since), user, SESSIONS)
              .values("status").annotate(n=Count("id")))
    return {row["status"]: row["n"] for row in counts}


def _failures(user, limit: int = 8) -> list[BackupSession]:
    """The latest failed or interrupted backup sessions of the last 7 days."""
    since = timezone.now() - timedelta(days=7)
    visible = scope(BackupSession.objects.filter(queued_at__gte=since), user, SESSIONS)
    if visible.query.is_empty():  # no tenant in scope (a union with nothing would be the other part alone)
        return []
    # The newest of each status on its own index (status, -queued_at, -id), then the newest of these: one scan
    # for both statuses walked the whole week's sessions newest first to find the few that failed (10 ms).
    newest = [visible.filter(status=status).select_related("tenant", "job")
              .only("pk", "status", "error", "queued_at", "ended_at", "tenant__name", "job__name")
              .order_by("-queued_at", "-id")[:limit] for status in PROBLEM_STATUSES]
    return list(newest[0].union(*newest[1:], all=True).order_by("-queued_at", "-id")[:limit])


def charts_of(tenant_id: int, tenant_name: str, *, logs: bool = True) -> dict:
    """The charts of one tenant, as inline SVG: objects and changes per restore point, backup session
    durations, and (when `logs`: the user may see its log sessions) log volume per log session."""
    points = list(reversed(restore_points_of([tenant_id], CHART_POINTS)[tenant_id]))
    _objects_as_of(points)
    return {
        "points": bar_chart(
            title=f"{tenant_name}: objects and changes per restore point",
            labels=[f"{p['ended_at']:%m-%d %H:%M}" if p["ended_at"] else f"#{p['restore_point']}" for p in points],
            series=[Series("objects", [p["objects"] for p in points], "bar-objects"),
                    Series("changes", [p["changes"] for p in points], "bar-changes")]),
        "durations": _durations_chart(tenant_id, tenant_name),
        "logs": _log_chart(tenant_id, tenant_name) if logs else "",
    }


def _objects_as_of(points: list[dict]) -> None:
    """Objects in the tenant at each restore point (oldest first): what a full read counted, then carried
    forward by what each incremental one added and deleted. Points before the first full one stay None."""
    total = None
    for point in points:
        if point["full"]:
            total = point["read"]
        elif total is not None:
            total += point["new"] - point["deleted"]
        point["objects"] = total


def _durations_chart(tenant_id: int, tenant_name: str):
    sessions = list(BackupSession.objects.filter(tenant_id=tenant_id, status__in=FINISHED, started_at__isnull=False)
                    .order_by("-queued_at", "-id").values("pk", "status", "started_at", "ended_at")[:CHART_POINTS])
    sessions.reverse()
    ok = [(s["ended_at"] - s["started_at"]).total_seconds() if s["status"] in ("success", "warning") else None
          for s in sessions]
    bad = [(s["ended_at"] - s["started_at"]).total_seconds() if s["status"] not in ("success", "warning") else None
           for s in sessions]
    return bar_chart(title=f"{tenant_name}: backup session durations", labels=[f"#{s['pk']}" for s in sessions],
                     series=[Series("succeeded", ok, "bar-ok"), Series("failed or stopped", bad, "bar-failed")],
                     fmt=humanize.duration)


def _log_chart(tenant_id: int, tenant_name: str):
    sessions = list(LogSession.objects.filter(tenant_id=tenant_id, status__in=FINISHED)
                    .order_by("-queued_at", "-id").values("pk", "queued_at", "stats")[:CHART_POINTS])
    sessions.reverse()
    records = [sum(int(c.get("new") or 0) for c in (s["stats"] or {}).values() if isinstance(c, dict))
               for s in sessions]
    return bar_chart(title=f"{tenant_name}: log records stored per log session",
                     labels=[f"{s['queued_at']:%m-%d %H:%M}" for s in sessions],
                     series=[Series("new records", records, "bar-logs")])


def credential_warnings(user, limit: int = 20) -> list[tuple[Tenant, str]]:
    """Tenants whose credential expires soon or has expired (at most `limit`, soonest first), with the warning."""
    soon = timezone.now() + timedelta(days=settings.CREDENTIAL_WARN_DAYS)
    tenants = tenants_for(user, "tenants.view_tenant").filter(credential_expires_at__lte=soon).order_by("credential_expires_at")[:limit]
    return [(tenant, credential_expiry_warning(tenant)) for tenant in tenants]
