"""The Sessions page's reads: backup, log and restore sessions in one list, filtered, paged by keyset, scoped.

Each kind is read from its own table through the same tenant scope as every other page
(`accounts.access.scope`), newest first on an index (jobs/0008_session_indexes), at most a page plus one row per kind;
PostgreSQL merges the three sorted slices (UNION ALL) and keeps a page. The cursor of the next page is the
last row's (queued_at, id): a row comparison the indexes answer as a range, so page 1,000 costs what page 1
costs.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.db import connection
from django.db.models import CharField, F, IntegerField, JSONField, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from accounts.access import scope, sees_every_tenant
from entrabackup import objecttypes
from jobs.logbackup.types import LOG_TYPES
from jobs.models import BackupSession, LogSession, Proxy
from jobs.services import proxy_is_live
from restore.models import RestoreSession

PER_PAGE = 50
_PLACEHOLDER = 987654321987
ACTIVE = tuple(BackupSession.ACTIVE)


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    model: type
    perm: str  # the permission that shows this kind of session


KINDS = {
    "backup": Kind("backup", "Directory backup", BackupSession, "jobs.view_backupsession"),
    "log": Kind("log", "Log backup", LogSession, "jobs.view_logsession"),
    "restore": Kind("restore", "Restore", RestoreSession, "restore.view_restoresession"),
}
DETAIL = {"backup": "jobs:session_detail", "log": "jobs:log_session_detail", "restore": "restore:restore_session_detail"}
COLUMNS = ("kind", "pk", "tenant_id", "tenant_name", "name", "status", "queued_at", "started_at", "ended_at",
           "trigger", "progress", "error", "cancel_requested", "types", "done", "job_id")


@dataclass(frozen=True)
class SessionFilter:
    """What the list shows; empty fields do not filter. `before` is the keyset cursor (queued_at, id)."""

    tenant_id: int | None = None
    kind: str | None = None
    status: str | None = None
    start: datetime | None = None  # queued at or after
    end: datetime | None = None  # queued before
    before: tuple[datetime, int] | None = None


@dataclass
class SessionRow:
    kind: str
    pk: int
    tenant_id: int
    tenant_name: str
    name: str
    status: str
    queued_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    trigger: str
    progress: dict
    error: str
    cancel_requested: bool
    types: list
    done: list
    job_id: int | None
    expected_seconds: float | None = field(default=None)
    links: list = field(default_factory=list)  # (label, url) of the actions the user may take

    @property
    def kind_pk(self) -> tuple[str, int]:
        return self.kind, self.pk

    @property
    def detail_url(self) -> str:
        return url_of(DETAIL[self.kind], self.pk)

    # What the table prints, computed here: Django's truncatechars and date filters cost more than the rest of a
    # row's rendering (fifty rows a page, every two seconds while something runs).
    @property
    def name_short(self) -> str:
        return clip(self.name, 60)

    @property
    def error_short(self) -> str:
        return clip(self.error, 60)

    @property
    def queued_text(self) -> str:
        return f"{timezone.localtime(self.queued_at):%Y-%m-%d %H:%M:%S}"

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind].label

    @property
    def status_label(self) -> str:
        return BackupSession.Status(self.status).label

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.ended_at or timezone.now()) - self.started_at

    @property
    def fraction(self) -> float:
        """How far the session is, 0..1: object or log types finished, or restore writes done."""
        if self.status != "running":
            return 0.0 if self.status == "queued" else 1.0
        if self.kind == "restore":
            total = self.progress.get("total") or 0
            return min(1.0, (self.progress.get("done") or 0) / total) if total else 0.0
        total = len(self.types) or (len(objecttypes.NAMES) if self.kind == "backup" else len(LOG_TYPES))
        return min(1.0, len(self.done) / total)

    @property
    def remaining_seconds(self) -> float | None:
        """Seconds left: the job's last successful run's duration minus the time spent, else (no such run, or
        this one already took longer) extrapolated from the fraction done; None when nothing is known yet."""
        if self.status != "running" or self.started_at is None:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        if self.expected_seconds and elapsed < self.expected_seconds:
            return self.expected_seconds - elapsed
        fraction = self.fraction  # no earlier run to go by, or this one runs longer than it did
        return elapsed * (1 - fraction) / fraction if fraction > 0 else None


@dataclass(frozen=True)
class Overall:
    """All the sessions in scope that are queued or running: how far they are together, and when they end."""

    running: int
    queued: int
    fraction: float
    remaining_seconds: float | None

    @property
    def active(self) -> bool:
        return bool(self.running or self.queued)


def clip(text: str, length: int) -> str:
    """The `truncatechars` filter's result, without its cost for text that fits (nearly all of it)."""
    text = unicodedata.normalize("NFC", text or "")
    return text if len(text) <= length else Truncator(text).chars(length)


@cache
def _url_pattern(name: str, extra: tuple) -> str:
    return reverse(name, args=[*extra[:1], _PLACEHOLDER, *extra[1:]])


def url_of(name: str, pk: int, *extra: str) -> str:
    """reverse(name, args=[*extra[:1], pk, *extra[1:]]) from a pattern reversed once: fifty rows' links cost
    one reverse each instead of fifty."""
    return _url_pattern(name, extra).replace(str(_PLACEHOLDER), str(int(pk)), 1)


def kinds_for(user) -> list[str]:
    return [key for key, kind in KINDS.items() if user.has_perm(kind.perm)]


def _rows_of(kind: Kind, user, flt: SessionFilter, perm: str | None = None) -> QuerySet:
    """One kind's sessions on the tenants where `user` may see them (and holds `perm`, when given), filtered,
    as the columns of COLUMNS, newest first."""
    qs = scope(kind.model.objects.all(), user, kind.perm)
    if perm is not None:
        qs = scope(qs, user, perm)
    qs = filtered(qs, flt)
    return qs.annotate(**_columns(kind)).order_by("-queued_at", "-id").values_list(*(f"c_{c}" for c in COLUMNS))


def filtered(qs: QuerySet, flt: SessionFilter) -> QuerySet:
    """Sessions of one kind (`qs`, already scoped) narrowed by `flt`: the Sessions page and the session_list
    command filter through here."""
    if flt.tenant_id is not None:
        qs = qs.filter(tenant_id=flt.tenant_id)
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.start:
        qs = qs.filter(queued_at__gte=flt.start)
    if flt.end:
        qs = qs.filter(queued_at__lt=flt.end)
    if flt.before:
        # A row comparison: the (queued_at, id) indexes answer it as a range. The values are parameters; the
        # table name is the model's own.
        table = qs.model._meta.db_table
        qs = qs.extra(where=[f'("{table}"."queued_at", "{table}"."id") < (%s, %s)'],  # noqa: S610
                      params=list(flt.before))
    return qs


def _columns(kind: Kind) -> dict:
    """The same columns, in the same order, from each table (a UNION matches them by position)."""
    text = TextField()
    if kind.key == "backup":
        name, trigger, types, done = Cast(F("job__name"), text), Cast(F("trigger"), text), F("object_types"), F("stats")
    elif kind.key == "log":
        name, trigger, types, done = Value("", text), Cast(F("trigger"), text), F("job__log_types"), F("stats")
    else:
        name, trigger, types, done = Cast(F("reason"), text), Value("restore", text), Value("[]"), Value("{}")
    job = F("job_id") if kind.key != "restore" else Value(None, IntegerField())
    return {
        "c_kind": Value(kind.key, CharField()), "c_pk": F("id"), "c_tenant_id": F("tenant_id"),
        "c_tenant_name": Cast(F("tenant__name"), text), "c_name": name, "c_status": Cast(F("status"), text),
        "c_queued_at": F("queued_at"), "c_started_at": F("started_at"), "c_ended_at": F("ended_at"),
        "c_trigger": trigger, "c_progress": F("progress"), "c_error": Cast(F("error"), text),
        "c_cancel_requested": F("cancel_requested"), "c_types": Cast(types, _json()), "c_done": Cast(done, _json()),
        "c_job_id": job,
    }


def _json() -> JSONField:
    return JSONField()


def sessions_page(user, flt: SessionFilter, *, per_page: int = PER_PAGE) -> tuple[list[SessionRow], tuple | None]:
    """A page of sessions, newest first, and the cursor of the next page (None on the last one)."""
    kinds = [k for k in kinds_for(user) if flt.kind in (None, k)]
    if not kinds:
        return [], None
    parts = [_rows_of(KINDS[k], user, flt)[:per_page + 1] for k in kinds]
    merged = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        merged = merged.order_by("-c_queued_at", "-c_pk")[:per_page + 1]
    rows = [SessionRow(**_fixed(dict(zip(COLUMNS, values, strict=True)))) for values in merged]
    more = len(rows) > per_page
    rows = rows[:per_page]
    _expected_durations([r for r in rows if r.status == "running"])
    return rows, ((rows[-1].queued_at, rows[-1].pk) if more else None)


def _fixed(values: dict) -> dict:
    """JSON columns: stats keys (types done) as a list, None as empty."""
    values["progress"] = values["progress"] or {}
    values["types"] = list(values["types"] or [])
    values["done"] = list(values["done"] or {})
    values["name"] = values["name"] or ""
    return values


def _expected_durations(rows: list[SessionRow]) -> None:
    """Each running backup or log session's expected duration: its job's last successful session's."""
    wanted = [r for r in rows if r.job_id is not None]
    if not wanted:
        return
    with connection.cursor() as cursor:
        for kind in ("backup", "log"):
            jobs = [r.job_id for r in wanted if r.kind == kind]
            if not jobs:
                continue
            table = KINDS[kind].model._meta.db_table
            cursor.execute(
                f"SELECT j.id, EXTRACT(EPOCH FROM s.ended_at - s.started_at) FROM unnest(%s::bigint[]) AS j(id) "  # noqa: S608
                f"JOIN LATERAL (SELECT started_at, ended_at FROM {table} WHERE job_id = j.id AND status = 'success' "
                "AND started_at IS NOT NULL ORDER BY queued_at DESC, id DESC LIMIT 1) s ON true", [jobs])
            expected = {job: float(seconds) for job, seconds in cursor.fetchall()}
            for row in wanted:
                if row.kind == kind:
                    row.expected_seconds = expected.get(row.job_id)


def sessions_overall(user, *, tenant_id: int | None = None, kind: str | None = None) -> Overall:
    """Progress and time left of every queued or running session in scope (of a tenant and kind when given)."""
    flt = SessionFilter(tenant_id=tenant_id, kind=kind)
    active: list[SessionRow] = []
    for key in kinds_for(user):
        if kind in (None, key):
            qs = _rows_of(KINDS[key], user, flt).filter(status__in=ACTIVE)
            active += [SessionRow(**_fixed(dict(zip(COLUMNS, values, strict=True)))) for values in qs[:500]]
    running = [r for r in active if r.status == "running"]
    _expected_durations(running)
    if not active:
        return Overall(0, 0, 0.0, None)
    fraction = sum(r.fraction for r in active) / len(active)
    remaining = [r.remaining_seconds for r in running]
    known = [s for s in remaining if s is not None]
    return Overall(len(running), len(active) - len(running), fraction, max(known) if known else None)


def session_row(user, kind: str, pk: int, perm: str | None = None) -> SessionRow | None:
    """One session of the list, for the action pages: None when unknown, or of a tenant where the user may not
    see it (or does not hold `perm`)."""
    if kind not in KINDS or kind not in kinds_for(user):
        return None
    qs = _rows_of(KINDS[kind], user, SessionFilter(), perm).filter(pk=pk)
    values = qs.first()
    return SessionRow(**_fixed(dict(zip(COLUMNS, values, strict=True)))) if values else None


@dataclass(frozen=True)
class ProxyHealth:
    name: str
    host: str
    workers: int
    live: bool
    heartbeat_at: datetime | None
    version: str

    @property
    def silent_for(self) -> timedelta | None:
        return timezone.now() - self.heartbeat_at if self.heartbeat_at else None


def proxies_health(user, *, has_tenants: bool) -> list[ProxyHealth]:
    """Every registered proxy and whether it beats (jobs.Proxy heartbeats). Proxies run every tenant's
    sessions: shown to those who may see proxies and either some tenant (`has_tenants`: the caller's page
    has one) or every tenant, present and future (an administrator of a new installation, before its first
    tenant, sees whether a proxy runs)."""
    if not user.has_perm("jobs.view_proxy") or not (has_tenants or sees_every_tenant(user)):
        return []
    now = timezone.now()
    return [ProxyHealth(p.name, p.host, p.workers, proxy_is_live(p, now=now), p.heartbeat_at, p.version)
            for p in Proxy.objects.order_by("name")[:50]]
