"""Log jobs and log sessions: creating, queueing, cancelling, scheduling and fail-over (the Django side)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.tasks import async_task

from audittrail import events as audit
from jobs.errors import JobError, JobValidationError, SessionConflictError
from jobs.logbackup.types import types_validate
from jobs.models import LogJob, LogSession
from repositories.log_services import log_repository_default

logger = logging.getLogger(__name__)
Status = LogSession.Status
ONE_ACTIVE_LOG = "one_active_log_session_per_tenant"
# Microsoft gives no latency figures today (https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency);
# its retired page said p99 5 min, and non-interactive sign-ins are seen up to 30 min late: an hour covers both.
DEFAULT_OVERLAP_MINUTES = 60
LIMITS = {"every_minutes": (1, 1440, "Run every 1 to 1440 minutes"),
          "overlap_minutes": (5, 1440, "An overlap window of 5 to 1440 minutes")}


def _check(field: str, value: int) -> int:
    low, high, rule = LIMITS[field]
    if not low <= value <= high:
        raise JobValidationError(field, f"{rule} (got {value}).")
    return value


@transaction.atomic
def log_job_create(*, tenant, primary, secondary=None, log_types: list[str] | None = None, every_minutes: int = 15,
                   overlap_minutes: int = DEFAULT_OVERLAP_MINUTES, enabled: bool = True) -> LogJob:
    """A log job for `tenant` into `primary` (and `secondary`), every `every_minutes` minutes."""
    try:
        types = types_validate(log_types)
    except ValueError as exc:
        raise JobValidationError("types", str(exc)) from None
    if secondary is not None and secondary.pk == primary.pk:
        raise JobValidationError("secondary", "The secondary repository must differ from the primary.")
    job = LogJob.objects.create(
        tenant=tenant, primary=primary, secondary=secondary, log_types=types, enabled=enabled,
        every_minutes=_check("every_minutes", every_minutes), overlap_minutes=_check("overlap_minutes", overlap_minutes),
        next_run_at=timezone.now() + timedelta(minutes=every_minutes))
    return job


def log_jobs_for_tenant(tenant) -> list[LogJob]:
    """The tenant's log jobs; a first one into the default log repository when it has none and backs up logs."""
    jobs = list(LogJob.objects.filter(tenant=tenant).select_related("primary", "secondary"))
    if jobs:
        return jobs
    if "log_backup" not in tenant.features:
        raise JobError(f"Tenant {tenant.name} does not back up logs (feature log_backup is off).")
    return [log_job_create(tenant=tenant, primary=log_repository_default())]


@transaction.atomic
def log_session_create(*, job: LogJob, trigger: str = "manual", requested_by=None) -> LogSession:
    """Queue a log session (enqueued once the transaction commits); SessionConflictError when the tenant has one."""
    try:
        with transaction.atomic():
            session = LogSession.objects.create(job=job, tenant=job.tenant, trigger=trigger, requested_by=requested_by)
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != ONE_ACTIVE_LOG:
            raise
        busy = LogSession.objects.filter(tenant=job.tenant, status__in=LogSession.ACTIVE).first()
        what = f"Log session {busy.pk} is {busy.status}" if busy else "Another log session was starting"
        raise SessionConflictError(f"{what} for tenant {job.tenant.name}; wait for it or cancel it.") from None
    audit.session_started("log", session)
    transaction.on_commit(lambda: log_session_enqueue(session))
    return session


def log_session_enqueue(session: LogSession) -> None:
    async_task("jobs.tasks.run_log_session", session.pk, task_name=f"log-session-{session.pk}")


def log_session_log(session_id: int, message: str) -> None:
    """Append a line to the log session's log (one UPDATE)."""
    line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
    LogSession.objects.filter(pk=session_id).update(log=Concat(F("log"), Value(line)))


def log_session_cancel(*, session: LogSession, user=None) -> bool:
    """Ask a queued or running log session to stop; chunks stored so far stay (they are complete and known)."""
    now = timezone.now()
    who = user.get_username() if user is not None else "an operator"
    asked = {"cancel_requested": True, "cancelled_by": user, "cancelled_at": now}
    rows = LogSession.objects.filter(pk=session.pk)
    if rows.filter(status=Status.QUEUED).update(status=Status.CANCELLED, ended_at=now,
                                                 error=f"Cancelled by {who} before it started.", **asked):
        log_session_log(session.pk, f"Cancelled by {who} before it started.")
        accepted = True
    elif rows.filter(status=Status.RUNNING, cancel_requested=False).update(**asked):
        log_session_log(session.pk, f"Cancel requested by {who}; stopping at the next page.")
        accepted = True
    else:
        accepted = rows.filter(status=Status.RUNNING).exists()
    audit.session_cancel_asked("log", session, user, accepted)
    return accepted


def log_jobs_run_due(*, now=None) -> list[LogSession]:
    """Queue a log session for every enabled log job whose time has come."""
    now = now or timezone.now()
    started = []
    for job in LogJob.objects.filter(enabled=True, next_run_at__lte=now).select_related("tenant"):
        LogJob.objects.filter(pk=job.pk).update(next_run_at=now + timedelta(minutes=job.every_minutes))
        try:
            started.append(log_session_create(job=job, trigger="schedule"))
        except SessionConflictError as exc:
            logger.warning("Log job %s not started: %s", job.pk, exc)
    return started


def log_sessions_fail_over(*, now=None) -> list[int]:
    """Running log sessions whose proxy stopped beating become interrupted (the next one resumes the work)."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT)
    ended = []
    for session in LogSession.objects.filter(status=Status.RUNNING, heartbeat_at__lt=deadline):
        message = (f"The proxy {session.proxy_name or '?'} stopped reporting; the chunks it stored are kept and "
                   "the next session continues from them.")
        if LogSession.objects.filter(pk=session.pk, status=Status.RUNNING).update(
                status=Status.INTERRUPTED, error=message, ended_at=now, failure=LogSession.Failure.TRANSIENT):
            log_session_log(session.pk, message)
            audit.session_finished("log", session, Status.INTERRUPTED, message)
            ended.append(session.pk)
    return ended
