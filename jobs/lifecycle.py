"""Editing, disabling, cloning and removing backup and log jobs, and listing and cancelling sessions of any
kind (pages and commands share these; the rules are those of job_create and log_job_create).

Removing a job deletes the job and the history of its sessions. The data it wrote stays: restore points
belong to the tenant in the repository (still browsable, restorable and removable with the tenant), log
chunks to the tenant in the log repositories (still searchable). No job prunes them any more unless another
job of the tenant writes to the same repository.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.gate import gate
from jobs import sessionlist
from jobs.errors import JobError, JobValidationError
from jobs.logbackup.services import _check as log_limit_check
from jobs.logbackup.services import log_session_cancel
from jobs.logbackup.types import types_validate
from jobs.models import BackupJob, BackupSession, LogJob, LogSession
from jobs.schedules import next_run
from jobs.services import job_settings_validate, object_types_validate, session_cancel
from jobs.sessionlist import KINDS, filtered
from restore.sessions import restore_session_cancel

SESSION_KINDS = {key: kind.model for key, kind in KINDS.items()}  # the Sessions page's kinds
STATUSES = BackupSession.Status.values
RETENTION = ("retention_days", "retention_points")
LOG_JOB_FIELDS = ("primary", "secondary", "log_types", "every_minutes", "overlap_minutes", "enabled")
JOB_FIELDS = ("name", "repository", "object_types", "schedule_kind", "schedule_value", "retention_days",
              "retention_points", "full_every_days", "proxy", "retries", "enabled")


def _lowered(old: int | None, new: int | None) -> bool:
    """Whether a retention limit keeps less than before (None keeps everything)."""
    return new is not None and (old is None or new < old)


def job_update(*, job: BackupJob, user=None, request=None, **changes):
    """Change a job's settings (the keys of JOB_FIELDS); the rules are job_create's.

    A lowered retention expires restore points at the next session, so it may wait for a second
    administrator's approval: the other changes apply at once and the pending request is returned; the
    retention changes when it is granted. A new repository gets the next session's full read; restore points already made stay where they
    are. Returns the job.
    """
    unknown = set(changes) - set(JOB_FIELDS)
    if unknown:
        raise JobError(f"Unknown job setting(s) {', '.join(sorted(unknown))}.")
    merged = {name: changes.get(name, getattr(job, name)) for name in JOB_FIELDS}
    valid = job_settings_validate(
        name=merged["name"], schedule_kind=merged["schedule_kind"], schedule_value=merged["schedule_value"] or "",
        retention_days=merged["retention_days"], retention_points=merged["retention_points"],
        full_every_days=merged["full_every_days"], retries=merged["retries"])
    merged.update(valid, object_types=object_types_validate(merged["object_types"]))
    if BackupJob.objects.filter(name__iexact=merged["name"]).exclude(pk=job.pk).exists():
        raise JobValidationError("name", f"A job named {merged['name']!r} exists already.")
    changed = {name: value for name, value in merged.items() if value != getattr(job, name)}
    if not changed:
        return job
    retention = {name: changed[name] for name in RETENTION if name in changed}
    if any(_lowered(getattr(job, name), value) for name, value in retention.items()):
        pending = gate("retention.lower", user=user, tenant=job.tenant,
                       summary=f"Lower the retention of job {job.name} ({_jsonable(retention)})",
                       params={"kind": "job", "pk": job.pk, **retention})
        if pending is not None:  # the other changes apply now; the retention once a second administrator approves
            _apply(job, {name: value for name, value in changed.items() if name not in RETENTION})
            return pending
    _apply(job, changed)  # the audit trail records the change from the model's signal
    return job


def _apply(job: BackupJob, changed: dict) -> None:
    for name, value in changed.items():
        setattr(job, name, value)
    if {"schedule_kind", "schedule_value", "enabled"} & set(changed):
        job.next_run_at = next_run(job.schedule_kind, job.schedule_value, after=timezone.now(), tz=settings.TIME_ZONE)
    job.save()


def _jsonable(changed: dict) -> dict:
    return {name: getattr(value, "name", value) for name, value in changed.items()}


def job_clone_initial(job: BackupJob) -> dict:
    """What the add form starts with for a copy of `job`: its settings under a new name."""
    return {"name": f"Copy of {job.name}"[:100], "tenant": job.tenant_id, "repository": job.repository_id,
            "object_types": job.object_types, "schedule_kind": job.schedule_kind, "schedule_value": job.schedule_value,
            "retention_days": job.retention_days, "retention_points": job.retention_points,
            "full_every_days": job.full_every_days}


@dataclass
class JobHoldings:
    """What removing a job leaves and removes."""

    sessions: int
    active: list[int]
    repository: str
    other_jobs: list[str]  # the tenant's other jobs writing to the same repository (they keep pruning)


def job_holdings(job: BackupJob) -> JobHoldings:
    others = BackupJob.objects.filter(tenant=job.tenant, repository=job.repository).exclude(pk=job.pk)
    return JobHoldings(sessions=job.sessions.count(),
                       active=list(job.sessions.filter(status__in=BackupSession.ACTIVE).values_list("pk", flat=True)),
                       repository=job.repository.name, other_jobs=list(others.values_list("name", flat=True)))


def job_remove(*, job: BackupJob, user=None, request=None) -> JobHoldings:
    """Remove a job and its session history; refused while one of its sessions is queued or running."""
    holdings = job_holdings(job)
    if holdings.active:
        raise JobError(f"Job {job.name} has session {holdings.active[0]} queued or running; cancel or wait for it first.")
    with transaction.atomic():
        job.delete()  # recorded in the audit trail from the model's signal
    return holdings



def log_job_update(*, job: LogJob, user=None, request=None, **changes) -> LogJob:
    """Change a log job's repositories, types, interval, overlap or whether it runs (log_job_create's rules).

    A new primary starts from the tenant's watermark there: records already in the old one stay there."""
    unknown = set(changes) - set(LOG_JOB_FIELDS)
    if unknown:
        raise JobError(f"Unknown log job setting(s) {', '.join(sorted(unknown))}.")
    merged = {name: changes.get(name, getattr(job, name)) for name in LOG_JOB_FIELDS}
    try:
        merged["log_types"] = types_validate(merged["log_types"])
    except ValueError as exc:
        raise JobValidationError("types", str(exc)) from None
    if merged["secondary"] is not None and merged["secondary"].pk == merged["primary"].pk:
        raise JobValidationError("secondary", "The secondary repository must differ from the primary.")
    log_limit_check("every_minutes", merged["every_minutes"])
    log_limit_check("overlap_minutes", merged["overlap_minutes"])
    changed = {name: value for name, value in merged.items() if value != getattr(job, name)}
    if changed:
        for name, value in changed.items():
            setattr(job, name, value)
        job.save()  # recorded in the audit trail from the model's signal
    return job


def log_job_remove(*, job: LogJob, user=None, request=None) -> int:
    """Remove a log job and its session history (its chunks stay); refused while a session of it runs."""
    active = job.sessions.filter(status__in=LogSession.ACTIVE).values_list("pk", flat=True).first()
    if active:
        raise JobError(f"Log job {job.pk} has log session {active} queued or running; cancel or wait for it first.")
    sessions = job.sessions.count()
    job.delete()  # recorded in the audit trail from the model's signal
    return sessions


@dataclass(frozen=True)
class SessionFilter:
    """The session_list command's validated filter (its query goes through jobs.sessionlist.filtered, the page's)."""

    tenant: object = None
    kind: str = ""
    status: str = ""
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100


def session_filter_validate(*, tenant=None, kind: str = "", status: str = "", start: str = "", end: str = "",
                            limit: int | str = 100) -> SessionFilter:
    """Check each filter and say which is wrong (JobValidationError names the field)."""
    if kind and kind not in SESSION_KINDS:
        raise JobValidationError("kind", f"Unknown kind {kind[:40]!r}; choose one of {', '.join(SESSION_KINDS)}.")
    if status and status not in STATUSES:
        raise JobValidationError("status", f"Unknown status {status[:40]!r}; choose one of {', '.join(STATUSES)}.")
    moments = {name: _moment(name, text) for name, text in (("from", start), ("to", end))}
    if moments["from"] and moments["to"] and moments["from"] > moments["to"]:
        raise JobValidationError("from", "The start of the period is after its end.")
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise JobValidationError("limit", f"The limit is a number (got {str(limit)[:20]!r}).") from None
    if not 1 <= limit <= 10_000:
        raise JobValidationError("limit", f"The limit is 1 to 10000 (got {limit}).")
    return SessionFilter(tenant=tenant, kind=kind, status=status, start=moments["from"], end=moments["to"], limit=limit)


def _moment(name: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise JobValidationError(name, f"A date or time as ISO 8601 is expected, e.g. 2026-11-30T08:00:00Z "
                                       f"(got {text[:40]!r}).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a time without a zone is UTC


def sessions_filtered(queryset_for, spec: SessionFilter) -> list[tuple[str, object]]:
    """Sessions of every kind matching `spec`, newest first: (kind, session) pairs.

    `queryset_for(model)` gives the sessions of that model the caller may see (scoped by tenant)."""
    rows = []
    for kind, model in SESSION_KINDS.items():
        if spec.kind and spec.kind != kind:
            continue
        # `end` is "queued at or before": PostgreSQL keeps microseconds, so that is before end + 1 µs.
        sessions = filtered(queryset_for(model).select_related("tenant"), sessionlist.SessionFilter(
            tenant_id=spec.tenant.pk if spec.tenant is not None else None, status=spec.status or None,
            start=spec.start, end=spec.end + timedelta(microseconds=1) if spec.end else None))
        rows += [(kind, session) for session in sessions.order_by("-queued_at")[:spec.limit]]
    rows.sort(key=lambda row: row[1].queued_at, reverse=True)
    return rows[:spec.limit]


def session_cancel_any(*, kind: str, session, user=None, request=None) -> bool:
    """Cancel a backup, log or restore session (each stops as its own kind does); False when it has ended."""
    cancel = {"backup": session_cancel, "log": log_session_cancel, "restore": restore_session_cancel}[kind]
    return cancel(session=session, user=user)  # each cancel service records `session.cancel` in the trail
