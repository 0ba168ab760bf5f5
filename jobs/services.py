"""Backup jobs and sessions: creating them, queueing them, scheduling, proxies and fail-over."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.tasks import async_task

import entrabackup
from audittrail import events as audit
from entrabackup import objecttypes
from jobs.errors import JobError, JobValidationError, ScheduleError, SessionConflictError
from jobs.logbackup.services import log_jobs_run_due, log_sessions_fail_over
from jobs.models import BackupJob, BackupSession, Proxy
from jobs.schedules import next_run, schedule_validate
from repositories.services import log_repositories_check_due, repository_default

logger = logging.getLogger(__name__)

ACTIVE = BackupSession.ACTIVE
ONE_ACTIVE = "one_active_session_per_tenant"  # the constraint that keeps a tenant to one session at a time


def object_types_validate(types: list[str] | None) -> list[str]:
    """The chosen object types in reading order ([] = all)."""
    chosen = [t for t in (types or []) if t]
    unknown = sorted(set(chosen) - set(objecttypes.NAMES))
    if unknown:
        raise JobError(f"Unknown object type(s) {', '.join(unknown)}; choose from {', '.join(objecttypes.NAMES)}.")
    return [t for t in objecttypes.NAMES if t in chosen]


# Bounds of a job's settings (the form and the commands check them here, through job_settings_validate).
NAME_MAX_LENGTH = 100  # BackupJob.name
LIMITS = {
    "retention_days": (1, 36_500, "Keep restore points for 1 to 36500 days"),
    "retention_points": (1, 100_000, "Keep at least one restore point and at most 100000"),
    "full_every_days": (0, 3_650, "A full reconciliation every 0 (never) to 3650 days"),
    "retries": (0, 10, "Retry a failed session 0 to 10 times"),
}


def job_settings_validate(*, name: str, schedule_kind: str, schedule_value: str = "", **numbers) -> dict:
    """The job's settings, normalised; JobValidationError names the first one out of range.

    `numbers` are the keys of LIMITS; None means "not set" (no retention limit).
    """
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH or not name.isprintable():
        raise JobValidationError("name", f"A job name is 1 to {NAME_MAX_LENGTH} printable characters "
                                         f"(got {len(name)}).")
    for field, value in numbers.items():
        low, high, rule = LIMITS[field]
        if value is not None and not low <= value <= high:
            raise JobValidationError(field, f"{rule} (got {value}).")
    try:
        schedule_value = schedule_validate(schedule_kind, schedule_value)
    except ScheduleError as exc:
        raise JobValidationError("schedule_value", str(exc)) from None
    return {"name": name, "schedule_kind": schedule_kind, "schedule_value": schedule_value, **numbers}


@transaction.atomic
def job_create(*, tenant, repository=None, name: str | None = None, object_types: list[str] | None = None,
               schedule_kind: str = "manual", schedule_value: str = "", retention_days: int | None = None,
               retention_points: int | None = None, full_every_days: int = 7, proxy: Proxy | None = None,
               retries: int = 1, enabled: bool = True) -> BackupJob:
    """A backup job for `tenant`; the default local repository when none is given."""
    settings_ = job_settings_validate(
        name=name or f"{tenant.name} directory backup", schedule_kind=schedule_kind, schedule_value=schedule_value,
        retention_days=retention_days, retention_points=retention_points, full_every_days=full_every_days,
        retries=retries)
    job = BackupJob(tenant=tenant, repository=repository or repository_default(),
                    object_types=object_types_validate(object_types), proxy=proxy, enabled=enabled, **settings_)
    if BackupJob.objects.filter(name__iexact=job.name).exists():
        raise JobValidationError("name", f"A job named {job.name!r} exists already.")
    job.next_run_at = next_run(job.schedule_kind, job.schedule_value, after=timezone.now(), tz=settings.TIME_ZONE)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:  # another job of that name was saved since the check above
        raise JobValidationError("name", f"A job named {job.name!r} exists already.") from None
    return job


def job_for_tenant(tenant) -> BackupJob:
    """The tenant's only job, or a new manual job on the default repository when it has none."""
    jobs = list(BackupJob.objects.filter(tenant=tenant))
    if len(jobs) == 1:
        return jobs[0]
    if not jobs:
        return job_create(tenant=tenant)
    raise JobError(f"Tenant {tenant.name} has {len(jobs)} jobs; name one with --job.")


@transaction.atomic
def session_create(*, job: BackupJob, kind: str = "auto", object_types: list[str] | None = None,
                   trigger: str = "manual", requested_by=None, attempt: int = 1, retry_of=None,
                   not_before=None) -> BackupSession:
    """Queue a session; the task is enqueued once the transaction commits (or, with `not_before`, by the
    scheduler once that time has come). SessionConflictError when the tenant has a session queued or running."""
    types = object_types_validate(object_types or job.object_types)
    try:
        with transaction.atomic():
            session = BackupSession.objects.create(
                job=job, tenant=job.tenant, kind=kind, object_types=types, trigger=trigger, requested_by=requested_by,
                attempt=attempt, retry_of=retry_of, not_before=not_before)
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != ONE_ACTIVE:
            raise
        raise SessionConflictError(_conflict(job.tenant)) from None
    audit.session_started("backup", session, mode=kind, attempt=attempt)
    if not_before is None:
        transaction.on_commit(lambda: session_enqueue(session))
    else:
        session_log(session.pk, f"Queued: waits until {_at(not_before)} before a proxy takes it.")
    return session


def _conflict(tenant) -> str:
    busy = BackupSession.objects.filter(tenant=tenant, status__in=ACTIVE).first()
    if busy is None:  # it ended meanwhile
        return f"Another session of tenant {tenant.name} was starting; try again."
    waits = f" (a retry waiting until {_at(busy.not_before)})" if busy.not_before else ""
    return f"Session {busy.pk} of tenant {tenant.name} is {busy.status}{waits}; wait for it or cancel it."


def _at(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}"


def session_enqueue(session: BackupSession) -> None:
    """Queue the session's task: on the shared queue, or on the queue of the proxy its job is pinned to.

    A pinned session waits for its proxy (see jobs/broker.py); the log says so when that proxy is not
    reporting.
    """
    proxy = session.job.proxy
    if proxy is not None and not proxy_is_live(proxy):
        seen = f"{proxy.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC" if proxy.heartbeat_at else "never"
        session_log(session.pk, f"Queued for proxy {proxy.name}, which is not reporting (last seen: {seen}); "
                                "the session starts when that proxy runs.")
    async_task("jobs.tasks.run_backup_session", session.pk, task_name=f"backup-session-{session.pk}",
               cluster=proxy.name if proxy is not None else None)


def session_cancel(*, session: BackupSession, user=None) -> bool:
    """Ask a queued or running session to stop, recording who asked and when.

    A queued one stops at once; a running one at its next page (its heartbeat thread reads the request within
    half a second), keeping no restore point. False when the session has already finished.
    """
    now = timezone.now()
    who = user.get_username() if user is not None else "an operator"
    asked = {"cancel_requested": True, "cancelled_by": user, "cancelled_at": now}
    active = BackupSession.objects.filter(pk=session.pk)
    if active.filter(status=BackupSession.Status.QUEUED).update(
            status=BackupSession.Status.CANCELLED, ended_at=now, error=f"Cancelled by {who} at {_at(now)} before it started.",
            **asked):
        session_log(session.pk, f"Cancelled by {who} at {_at(now)} before it started.")
        accepted = True
    elif active.filter(status=BackupSession.Status.RUNNING, cancel_requested=False).update(**asked):
        session_log(session.pk, f"Cancel requested by {who} at {_at(now)}; stopping at the next page.")
        accepted = True
    else:
        accepted = active.filter(status=BackupSession.Status.RUNNING).exists()  # asked already, still stopping
    audit.session_cancel_asked("backup", session, user, accepted)
    return accepted


def session_log(session_id: int, message: str) -> None:
    """Append a line to the session's log (one UPDATE; safe from any thread or process)."""
    line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
    BackupSession.objects.filter(pk=session_id).update(log=Concat(F("log"), Value(line)))


def proxy_host() -> str:
    """This proxy's name (ENTRABACKUP_PROXY_NAME, by default the host name): jobs are pinned by it."""
    return settings.PROXY_NAME


def proxy_identity() -> str:
    """This worker, for session logs: proxy name and worker process id."""
    return f"{proxy_host()} (pid {os.getpid()})"


def proxy_report(*, name: str, stat) -> Proxy:
    """Record proxy `name` from its cluster's status report (django-q2's Stat) with a fresh heartbeat."""
    proxy, _ = Proxy.objects.update_or_create(name=name, defaults={
        "host": stat.host, "cluster_id": str(stat.cluster_id), "workers": len(stat.workers),
        "version": entrabackup.__version__, "heartbeat_at": timezone.now(), "started_at": stat.tob,
    })
    return proxy


def proxy_is_live(proxy: Proxy, *, now=None) -> bool:
    """Whether the proxy reported within the session heartbeat timeout."""
    deadline = (now or timezone.now()) - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT)
    return proxy.heartbeat_at is not None and proxy.heartbeat_at >= deadline


def proxies_sync() -> list[Proxy]:
    """The proxies that reported lately (each proxy records itself through its broker, jobs/broker.py)."""
    deadline = timezone.now() - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT)
    return list(Proxy.objects.filter(heartbeat_at__gte=deadline))


def sessions_fail_over(*, now=None) -> list[BackupSession]:
    """Mark running sessions whose proxy stopped beating as interrupted, and retry them as configured."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT)
    stale = list(BackupSession.objects.filter(status=BackupSession.Status.RUNNING, heartbeat_at__lt=deadline).select_related("job"))
    retried = []
    for session in stale:
        message = (f"The proxy {session.proxy_name or '?'} stopped reporting "
                   f"(last heartbeat {session.heartbeat_at:%H:%M:%S}); nothing of this session was kept.")
        if not BackupSession.objects.filter(pk=session.pk, status=BackupSession.Status.RUNNING).update(
                status=BackupSession.Status.INTERRUPTED, error=message, ended_at=now,
                failure=BackupSession.Failure.TRANSIENT):
            continue
        session_log(session.pk, message)
        audit.session_finished("backup", session, BackupSession.Status.INTERRUPTED, message)
        session.failure = BackupSession.Failure.TRANSIENT
        retry = session_retry(session, now=now)
        if retry:
            retried.append(retry)
    return retried


def session_retry(session: BackupSession, *, now=None) -> BackupSession | None:
    """A new attempt of a failed or interrupted session when its failure may pass and its job allows more.

    A permanent failure (a missing permission, a refused credential, ...) is not retried: it would fail the
    same way. A transient one is retried after a pause that doubles with each attempt.
    """
    if session.failure == BackupSession.Failure.PERMANENT:
        session_log(session.pk, "Not retried: this failure needs a fix first.")
        return None
    if session.attempt > session.job.retries:
        return None
    not_before = (now or timezone.now()) + retry_delay(session.attempt)
    try:
        retry = session_create(job=session.job, kind=session.kind, object_types=session.object_types,
                               trigger="retry", attempt=session.attempt + 1, retry_of=session, not_before=not_before)
    except SessionConflictError:
        return None
    session_log(session.pk, f"Retried as session {retry.pk} (attempt {retry.attempt}) from {_at(not_before)}.")
    return retry


def retry_delay(attempt: int) -> timedelta:
    """The pause before attempt `attempt + 1`: SESSION_RETRY_DELAY seconds, doubled per attempt, at most an hour."""
    return timedelta(seconds=min(3600, settings.SESSION_RETRY_DELAY * 2 ** (attempt - 1)))


def sessions_enqueue_due(*, now=None) -> list[int]:
    """Hand the proxies every queued retry whose pause is over (clearing `not_before` marks it handed over)."""
    now = now or timezone.now()
    due = BackupSession.objects.filter(status=BackupSession.Status.QUEUED, not_before__lte=now)
    handed = []
    for session in due:
        if BackupSession.objects.filter(pk=session.pk, status=BackupSession.Status.QUEUED,
                                        not_before__lte=now).update(not_before=None):
            session_log(session.pk, "The pause is over: queued for a proxy.")
            session_enqueue(session)
            handed.append(session.pk)
    return handed


def jobs_run_due(*, now=None) -> list[BackupSession]:
    """Queue a session for every enabled job whose time has come, and move its next run on."""
    now = now or timezone.now()
    started = []
    for job in BackupJob.objects.filter(enabled=True, next_run_at__lte=now).select_related("tenant"):
        job.next_run_at = next_run(job.schedule_kind, job.schedule_value, after=now, tz=settings.TIME_ZONE)
        job.save(update_fields=["next_run_at"])
        try:
            started.append(session_create(job=job, trigger="schedule"))
        except SessionConflictError as exc:
            logger.warning("Job %s not started: %s", job.name, exc)
    return started


def scheduler_tick() -> dict:
    """The scheduler's minute: proxies' heartbeats, fail-over of dead sessions, retries due, due jobs and log jobs."""
    proxies = proxies_sync()
    retried = sessions_fail_over()
    interrupted_logs = log_sessions_fail_over()
    resumed = sessions_enqueue_due()
    started = jobs_run_due()
    logs = log_jobs_run_due()
    checks = log_repository_checks_enqueue()
    return {"proxies": len(proxies), "retried": [s.pk for s in retried], "resumed": resumed,
            "started": [s.pk for s in started], "log_sessions": [s.pk for s in logs],
            "log_interrupted": interrupted_logs, "log_repository_checks": checks}


def log_repository_checks_enqueue(*, now=None) -> list[int]:
    """Queue the health check of every log repository whose check is due; a proxy runs each one."""
    queued = []
    for repository in log_repositories_check_due(now=now):
        async_task("jobs.tasks.check_log_repository", repository.pk, task_name=f"log-repository-check-{repository.pk}")
        queued.append(repository.pk)
    return queued
