"""Running one log session on a proxy: for each log type of the job, Graph -> primary -> secondary.

Mirrors jobs/runner.py: the session is claimed with a conditional update, a heartbeat thread keeps it
fresh and reads cancellation requests, and a failure is classified (jobs.errors.failure_of). Unlike a
directory session, stored chunks are kept when a session stops: each is complete, and the cache and the
next session's absorb step know them (jobs/logbackup/engine.py). Sign-in types without an Entra ID P1/P2
licence fail on their own and the session ends with a warning.
"""

import logging
import time
from contextlib import ExitStack
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audittrail import events as audit
from entrabackup import graph
from jobs.errors import failure_of
from jobs.logbackup import compaction, engine
from jobs.logbackup import index as logindex
from jobs.logbackup.cache import LogCache
from jobs.logbackup.services import log_session_log
from jobs.logbackup.types import LOG_TYPES
from jobs.models import LogSession
from jobs.runner import Heartbeat
from jobs.services import proxy_identity
from notifications.services import session_ended
from repositories.log_services import log_repository_open
from tenants.services import tenant_graph_client

logger = logging.getLogger(__name__)
Status = LogSession.Status
AUDIT_RETENTION_FREE, RETENTION_PREMIUM = timedelta(days=7), timedelta(days=30)  # how long Graph serves logs


def log_session_run(*, session_id: int) -> LogSession | None:
    """Claim the queued log session and run it; None when another worker got it first."""
    now = timezone.now()
    if not LogSession.objects.filter(pk=session_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=now, heartbeat_at=now, proxy_name=proxy_identity()):
        return None
    session = LogSession.objects.select_related("job__primary", "job__secondary", "tenant").get(pk=session_id)
    log_session_log(session.pk, f"Started on proxy {session.proxy_name}.")
    heartbeat = Heartbeat(session.pk, model=LogSession)
    heartbeat.start()
    try:
        _run_guarded(session, heartbeat)
    finally:
        heartbeat.stop()
    session.refresh_from_db()
    session_ended(session, "log")  # notifications: never raises
    return session


def _run_guarded(session: LogSession, heartbeat: Heartbeat) -> None:
    try:
        stats, warnings = _run(session, heartbeat)
    except engine.LogCancelled:
        _finish(session, Status.CANCELLED, error="Cancelled; the chunks stored so far are kept.")
    except Exception as exc:  # every failure ends the session with its cause and its class
        failure = failure_of(exc)
        if failure.unexpected:
            logger.exception("Log session %s failed", session.pk, extra={"session_id": session.pk})
        _finish(session, Status.FAILED, error=failure.message,
                failure=LogSession.Failure.TRANSIENT if failure.transient else LogSession.Failure.PERMANENT)
    else:
        _finish(session, Status.WARNING if warnings else Status.SUCCESS, stats=stats, warnings=warnings)


def _run(session: LogSession, heartbeat: Heartbeat) -> tuple[dict, list[str]]:
    job, tenant = session.job, session.tenant
    stats, warnings = {}, []
    with ExitStack() as stack:
        client = stack.enter_context(tenant_graph_client(tenant))
        primary = engine.Target(str(job.primary.pk), stack.enter_context(log_repository_open(job.primary)))
        secondary = _open_secondary(session, stack, warnings)
        licensed = tenant.check_report.get("licence") != "missing"
        for key in job.log_types or list(LOG_TYPES):
            log_type = LOG_TYPES[key]
            if heartbeat.cancel_requested:
                raise engine.LogCancelled()
            throttled_before = client.stats.throttled_429
            try:
                result = _backup_type(session, heartbeat, client, log_type, primary, secondary, licensed)
            except graph.LicenceRequiredError as exc:
                licensed = False
                warnings.append(f"{log_type.label} not backed up: {exc}")
                log_session_log(session.pk, warnings[-1])
                continue
            stats[key] = {**result.as_dict(), "throttled": client.stats.throttled_429 - throttled_before}
            warnings += result.warnings
            log_session_log(session.pk, f"{log_type.label}: read {result.read}, new {result.new}, duplicates "
                                        f"skipped {result.duplicates}, {result.chunks} chunks, {result.bytes} bytes "
                                        f"({result.start} to {result.end}).")
            LogSession.objects.filter(pk=session.pk).update(stats=stats)
        _prune(session, primary, secondary, warnings)
        _compact(session, primary, secondary, list(stats), warnings)
    return stats, warnings


def _open_secondary(session, stack, warnings):
    job = session.job
    if job.secondary is None:
        return None
    try:
        return engine.Target(str(job.secondary.pk), stack.enter_context(log_repository_open(job.secondary)))
    except Exception as exc:  # noqa: BLE001 - the primary's backup goes on; the next session catches up
        warnings.append(f"Secondary repository {job.secondary.name} unreachable ({exc}); the next session "
                        "catches it up.")
        log_session_log(session.pk, warnings[-1])
        return None


def _backup_type(session, heartbeat, client, log_type, primary, secondary, licensed):
    tenant = session.tenant
    retention = RETENTION_PREMIUM if licensed or log_type.key != "audit" else AUDIT_RETENTION_FREE
    progress = _Progress(session.pk, log_type.key)
    # The index writes run on threads and connections of their own while the next chunk is serialised,
    # compressed and encrypted; backup_log_type drains them before each watermark moves (docs/log-backup.md,
    # Index).
    with (LogCache(settings.CACHE_DIR).open(str(tenant.key), log_type.key) as cache,
          logindex.ChunkIndexer(tenant_id=tenant.pk, log_type=log_type) as indexer):
        run = engine.Run(
            client=client, log_type=log_type, tenant=str(tenant.key), session=f"ls{session.pk}", primary=primary,
            cache=cache, overlap=timedelta(minutes=session.job.overlap_minutes), now=timezone.now(),
            retention=retention, secondary=secondary, index=indexer,
            cancelled=lambda: heartbeat.cancel_requested, progress=progress.report)
        return engine.backup_log_type(run)


def _prune(session, primary, secondary, warnings: list[str]) -> None:
    """Each repository's retention, in whole days; the index drops the primary's days with it."""
    job = session.job
    _prune_one(session, primary, job.primary)
    if secondary is not None:
        try:
            _prune_one(session, secondary, job.secondary)
        except Exception as exc:  # noqa: BLE001 - the secondary's retention waits for the next session
            warnings.append(f"Retention of secondary repository {job.secondary.name} not applied: {exc}")


def _prune_one(session, target, row) -> None:
    tenant = session.tenant
    before = timezone.now().date() - timedelta(days=row.retention_days)
    for key in session.job.log_types or list(LOG_TYPES):
        removed = target.store.prune(str(tenant.key), key, before)
        if removed:
            log_session_log(session.pk, f"Retention of {row.name}: removed {len(removed)} days of {key}.")
    if row == session.job.primary:
        logindex.index_prune(tenant_id=tenant.pk, repository=target.name, before=before)


def _compact(session, primary, secondary, log_types: list[str], warnings: list[str]) -> None:
    """The closed days of the last week in each repository: their small chunks merged into one per day, the
    index re-pointed (jobs/logbackup/compaction.py). A failure is a warning; the next session tries again."""
    job, tenant = session.job, session.tenant
    closed = compaction.closed_before(timezone.now(), timedelta(minutes=job.overlap_minutes))
    for target, row in ((primary, job.primary), (secondary, job.secondary)):
        if target is None:
            continue
        try:
            reports = compaction.compact_tenant(
                target.store, repository=target.name, tenant_id=tenant.pk, tenant_key=str(tenant.key),
                log_types=log_types, closed_before=closed, since=closed - timedelta(days=compaction.SESSION_DAYS),
                primary=row == job.primary)
        except Exception as exc:  # noqa: BLE001 - the stored chunks stay as they are
            warnings.append(f"Compaction of {row.name} not done: {exc}")
            log_session_log(session.pk, warnings[-1])
            continue
        for key, report in reports.items():
            log_session_log(session.pk, f"Compaction of {row.name}, {key}: {report.summary()}.")


class _Progress:
    """Counts of the log type being read, written to the session at most once a second."""

    def __init__(self, session_id: int, key: str):
        self.session_id, self.key, self._last = session_id, key, 0.0

    def report(self, result: engine.TypeResult) -> None:
        if time.monotonic() - self._last >= 1.0:
            self._last = time.monotonic()
            LogSession.objects.filter(pk=self.session_id).update(
                progress={"current": self.key, **result.as_dict()})


def _finish(session: LogSession, status: str, **fields) -> None:
    LogSession.objects.filter(pk=session.pk).update(status=status, ended_at=timezone.now(), **fields)
    audit.session_finished("log", session, status, fields.get("error", ""))
    log_session_log(session.pk, f"Finished: {Status(status).label}" + (f" - {fields['error']}" if fields.get("error") else ""))
