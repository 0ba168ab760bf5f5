"""Backup jobs and sessions: creating them, queueing them, scheduling, proxies and fail-over."""

import logging
import os
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

import entrabackup
from entrabackup import objecttypes
from jobs.errors import JobError, SessionConflictError
from jobs.models import BackupJob, BackupSession, Proxy
from jobs.schedules import next_run, schedule_validate

logger = logging.getLogger(__name__)

ACTIVE = (BackupSession.Status.QUEUED, BackupSession.Status.RUNNING)


def object_types_validate(types: list[str] | None) -> list[str]:
    """The chosen object types in reading order ([] = all)."""
    chosen = [t for t in (types or []) if t]
    unknown = sorted(set(chosen) - set(objecttypes.NAMES))
    if unknown:
        raise JobError(f"Unknown object type(s) {', '.join(unknown)}; choose from {', '.join(objecttypes.NAMES)}.")
    return [t for t in objecttypes.NAMES if t in chosen]


@transaction.atomic
def job_create(*, tenant, repository=None, name: str | None = None, object_types: list[str] | None = None,
               schedule_kind: str = "manual", schedule_value: str = "", retention_days: int | None = None,
               retention_points: int | None = None, full_every_days: int = 7, proxy: Proxy | None = None,
               retries: int = 1, enabled: bool = True) -> BackupJob:
    """A backup job for `tenant`; the default local repository when none is given."""
    from repositories.services import repository_default

    if retention_points is not None and retention_points < 1:
        raise JobError("Keep at least one restore point (retention_points >= 1).")
    job = BackupJob(
        name=(name or f"{tenant.name} directory backup").strip(), tenant=tenant,
        repository=repository or repository_default(), object_types=object_types_validate(object_types),
        schedule_kind=schedule_kind, schedule_value=schedule_validate(schedule_kind, schedule_value),
        retention_days=retention_days, retention_points=retention_points, full_every_days=full_every_days,
        proxy=proxy, retries=retries, enabled=enabled,
    )
    if BackupJob.objects.filter(name__iexact=job.name).exists():
        raise JobError(f"A job named {job.name!r} exists already.")
    job.next_run_at = next_run(job.schedule_kind, job.schedule_value, after=timezone.now(), tz=settings.TIME_ZONE)
    job.save()
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
                   trigger: str = "manual", requested_by=None, attempt: int = 1, retry_of=None) -> BackupSession:
    """Queue a session; the task is enqueued once the transaction commits."""
    # One session per tenant at a time: they would fight over the tenant's lock in the repository.
    busy = BackupSession.objects.select_for_update().filter(tenant=job.tenant, status__in=ACTIVE).first()
    if busy is not None:
        raise SessionConflictError(f"Session {busy.pk} of tenant {job.tenant.name} is {busy.status}; wait for it or cancel it.")
    session = BackupSession.objects.create(
        job=job, tenant=job.tenant, kind=kind, object_types=object_types_validate(object_types or job.object_types),
        trigger=trigger, requested_by=requested_by, attempt=attempt, retry_of=retry_of,
    )
    transaction.on_commit(lambda: session_enqueue(session))
    return session


def session_enqueue(session: BackupSession) -> None:
    from django_q.tasks import async_task

    async_task("jobs.tasks.run_backup_session", session.pk, task_name=f"backup-session-{session.pk}")


MAX_BOUNCES = 50


def session_bounce(*, session_id: int, bounces: int) -> bool:
    """True when this proxy must not run the session (pinned elsewhere); it is then requeued or failed."""
    from django_q.tasks import async_task

    session = BackupSession.objects.select_related("job__proxy").filter(pk=session_id, status=BackupSession.Status.QUEUED).first()
    pinned = session.job.proxy if session else None
    if pinned is None or pinned.host == proxy_host():
        return False
    if bounces >= MAX_BOUNCES:
        BackupSession.objects.filter(pk=session_id, status=BackupSession.Status.QUEUED).update(
            status=BackupSession.Status.FAILED, ended_at=timezone.now(),
            error=f"The job is pinned to proxy {pinned.name}, which did not take the session; is it running?")
        return True
    time.sleep(min(5.0, 0.2 * (bounces + 1)))  # let the pinned proxy's workers get to the queue first
    async_task("jobs.tasks.run_backup_session", session_id, bounces + 1, task_name=f"backup-session-{session_id}-{bounces + 1}")
    return True


def session_cancel(*, session: BackupSession) -> bool:
    """Ask a queued or running session to stop; a queued one stops at once, a running one at its next page."""
    now = timezone.now()
    if BackupSession.objects.filter(pk=session.pk, status=BackupSession.Status.QUEUED).update(
            status=BackupSession.Status.CANCELLED, cancel_requested=True, ended_at=now):
        return True
    return bool(BackupSession.objects.filter(pk=session.pk, status=BackupSession.Status.RUNNING).update(cancel_requested=True))


def session_log(session_id: int, message: str) -> None:
    """Append a line to the session's log (one UPDATE; safe from any thread or process)."""
    line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
    BackupSession.objects.filter(pk=session_id).update(log=Concat(F("log"), Value(line)))


def proxy_host() -> str:
    """This proxy's name: its host name, as django-q2 reports the cluster (one proxy per host)."""
    return socket.gethostname()


def proxy_identity() -> str:
    """This worker, for session logs: proxy name and worker process id."""
    return f"{proxy_host()} (pid {os.getpid()})"


def proxies_sync() -> list[Proxy]:
    """Record the running clusters (they report themselves through the cache) as proxies with a heartbeat."""
    from django_q.status import Stat

    now, seen = timezone.now(), []
    for stat in Stat.get_all():
        proxy, _ = Proxy.objects.update_or_create(name=stat.host, defaults={
            "host": stat.host, "cluster_id": str(stat.cluster_id), "workers": len(stat.workers),
            "version": entrabackup.__version__, "heartbeat_at": now,
            "started_at": now - timedelta(seconds=stat.uptime()),
        })
        seen.append(proxy)
    return seen


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
                status=BackupSession.Status.INTERRUPTED, error=message, ended_at=now):
            continue
        session_log(session.pk, message)
        retry = session_retry(session)
        if retry:
            retried.append(retry)
    return retried


def session_retry(session: BackupSession) -> BackupSession | None:
    """A new attempt of a failed or interrupted session when its job allows more."""
    if session.attempt > session.job.retries:
        return None
    try:
        retry = session_create(job=session.job, kind=session.kind, object_types=session.object_types,
                               trigger="retry", attempt=session.attempt + 1, retry_of=session)
    except SessionConflictError:
        return None
    session_log(session.pk, f"Retried as session {retry.pk} (attempt {retry.attempt}).")
    return retry


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
    """The scheduler's minute: proxies' heartbeats, fail-over of dead sessions, due jobs."""
    proxies = proxies_sync()
    retried = sessions_fail_over()
    started = jobs_run_due()
    return {"proxies": len(proxies), "retried": [s.pk for s in retried], "started": [s.pk for s in started]}
