"""Running one backup session on a proxy: Graph -> the Entra ID backup repository -> one restore point.

The session row is the source of truth for the pages and the commands. A heartbeat thread keeps it
fresh (a proxy that dies stops beating and the scheduler fails the session over) and reads cancellation
requests every half second for the collectors, which check them every page. Everything a session writes
is invisible until its final commit, so any failure - an exception, a cancel, a SIGKILL - leaves no
restore point behind. A failure is classified (jobs.errors.failure_of): one that needs a fix is not
retried, one that may pass is retried after a pause.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from audittrail import events as audit
from entrabackup import graph, objecttypes
from jobs.backup import OBJECT_TYPES, BackupCancelled, backup_type
from jobs.errors import failure_of
from jobs.models import BackupSession
from jobs.services import proxy_identity, session_log, session_retry
from repositories.services import repository_store
from tenants.services import tenant_graph_client, tenant_preflight

logger = logging.getLogger(__name__)
Status = BackupSession.Status
SKIPPABLE = (graph.PermissionDeniedError, graph.LicenceRequiredError)
CA_TYPES = objecttypes.names_for_feature("conditional_access")


CANCEL_POLL = 0.5  # seconds between two reads of a cancellation request


class Heartbeat(threading.Thread):
    """Beats for the session every few seconds and reads cancellation requests every half second."""

    def __init__(self, session_id: int, model=BackupSession):
        super().__init__(daemon=True, name=f"heartbeat-{session_id}")
        self.session_id, self.cancel_requested, self.model = session_id, False, model
        self._stopping = threading.Event()

    def run(self):
        interval = settings.SESSION_HEARTBEAT_INTERVAL
        last_beat = time.monotonic()
        try:
            while not self._stopping.wait(min(CANCEL_POLL, interval)):
                if time.monotonic() - last_beat >= interval:
                    last_beat = time.monotonic()
                    self.model.objects.filter(pk=self.session_id).update(heartbeat_at=timezone.now())
                self.cancel_requested = self.cancel_requested or self.model.objects.filter(
                    pk=self.session_id, cancel_requested=True).exists()
        finally:
            connection.close()  # this thread's own connection

    def stop(self):
        self._stopping.set()
        self.join(10)


def _cancel_asked(session_id: int) -> bool:
    return BackupSession.objects.filter(pk=session_id, cancel_requested=True).exists()


def session_run(*, session_id: int) -> BackupSession | None:
    """Claim the queued session and run it; returns None when another worker got it first."""
    now = timezone.now()
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)  # a retry waits out its pause
    claimed = BackupSession.objects.filter(due, pk=session_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, proxy_name=proxy_identity())
    if not claimed:
        return None
    session = BackupSession.objects.select_related("job__repository", "tenant").get(pk=session_id)
    session_log(session.pk, f"Started on proxy {session.proxy_name} (attempt {session.attempt}).")
    heartbeat = Heartbeat(session.pk)
    heartbeat.start()
    try:
        _run_guarded(session, heartbeat)
    finally:
        heartbeat.stop()
    session.refresh_from_db()
    if session.status == Status.FAILED:
        session_retry(session)
    return session


def _run_guarded(session: BackupSession, heartbeat: Heartbeat) -> None:
    try:
        _run(session, heartbeat)
    except BackupCancelled:
        _finish(session, Status.CANCELLED, error=f"{_cancelled_by(session.pk)}; no restore point was kept.")
    except Exception as exc:  # every failure ends the session with its cause and its class
        failure = failure_of(exc)
        if failure.unexpected:
            logger.exception("Session %s failed", session.pk, extra={"session_id": session.pk})
        _finish(session, Status.FAILED, error=failure.message,
                failure=BackupSession.Failure.TRANSIENT if failure.transient else BackupSession.Failure.PERMANENT)


def _run(session: BackupSession, heartbeat: Heartbeat) -> None:
    tenant, job = session.tenant, session.job
    types = session.object_types or OBJECT_TYPES
    features = ["directory_backup"] + (["conditional_access"] if CA_TYPES & set(types) else [])
    with tenant_graph_client(tenant) as client:
        tenant_preflight(tenant=tenant, features=features, client=client)
        with repository_store(job.repository) as store:
            _backup(session, heartbeat, client, store, types)


def _backup(session: BackupSession, heartbeat: Heartbeat, client, store, types: list[str]) -> None:
    """One restore point of the session's types, then retention."""
    tenant = session.tenant
    store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
    full = _reads_everything(session, store)
    BackupSession.objects.filter(pk=session.pk).update(ran_full=full)
    session_log(session.pk, f"{'Full' if full else 'Incremental'} backup of {len(types)} object types.")
    kind = "full" if full else "incremental"
    with store.session(str(tenant.key), f"session-{session.pk}", kind=kind) as writer:
        stats, warnings = _backup_types(session, heartbeat, client, writer, types, full)
        if _cancel_asked(session.pk):  # the last look before the restore point becomes visible
            raise BackupCancelled()
        rp = writer.commit({"session": session.pk, "types": stats, "graph": client.stats.as_dict()})
    session_log(session.pk, f"Restore point {rp} committed.")
    if _cancel_asked(session.pk):
        session_log(session.pk, f"{_cancelled_by(session.pk)}, after restore point {rp} was committed: "
                                "the restore point is complete and kept.")
    _prune(session, store)
    _finish(session, Status.WARNING if warnings else Status.SUCCESS, restore_point_id=rp, stats=stats,
            warnings=warnings, graph_stats=client.stats.as_dict())


def _cancelled_by(session_id: int) -> str:
    row = BackupSession.objects.select_related("cancelled_by").get(pk=session_id)
    who = row.cancelled_by.get_username() if row.cancelled_by else "an operator"
    return f"Cancelled by {who} at {row.cancelled_at or timezone.now():%Y-%m-%d %H:%M:%S %Z}"


def _backup_types(session, heartbeat, client, writer, types, full):
    stats, warnings, progress = {}, [], _Progress(session.pk)
    for object_type in types:
        if heartbeat.cancel_requested:
            raise BackupCancelled()
        try:
            result = backup_type(client, writer, object_type, full=full, progress=progress.report,
                                 cancelled=lambda: heartbeat.cancel_requested)
        except SKIPPABLE as exc:
            warnings.append(f"{object_type} not backed up: {exc}")
            session_log(session.pk, warnings[-1])
            continue
        stats[object_type] = {"mode": result.mode, **result.counts, "relations": result.relations}
        warnings += [f"{object_type}: {w}" for w in result.warnings]
        session_log(session.pk, f"{object_type}: {_describe(result)}")
        BackupSession.objects.filter(pk=session.pk).update(stats=stats, graph_stats=client.stats.as_dict())
    return stats, warnings


class _Progress:
    """Objects read so far per type, written to the session at most once a second."""

    def __init__(self, session_id: int):
        self.session_id, self.read, self._last = session_id, {}, 0.0

    def report(self, object_type: str, count: int) -> None:
        self.read[object_type] = count
        if time.monotonic() - self._last >= 1.0:
            self._last = time.monotonic()
            BackupSession.objects.filter(pk=self.session_id).update(
                progress={"current": object_type, "read": dict(self.read)})


def _reads_everything(session: BackupSession, store) -> bool:
    """Full when asked, when the tenant has no restore point yet, or when the job's reconciliation is due."""
    if session.kind == BackupSession.Kind.FULL:
        return True
    points = store.restore_points(str(session.tenant.key))
    if not points:
        return True
    if session.kind == BackupSession.Kind.INCREMENTAL or not session.job.full_every_days:
        return False
    last_full = next((p for p in points if p.kind == "full"), None)
    due = timezone.now() - timedelta(days=session.job.full_every_days)
    return last_full is None or last_full.committed_at < due


def _prune(session: BackupSession, store) -> None:
    job = session.job
    if job.retention_days is None and job.retention_points is None:
        return
    result = store.prune(str(session.tenant.key), keep_restore_points=job.retention_points, keep_days=job.retention_days)
    session_log(session.pk, f"Retention: {result}")


def _describe(result) -> str:
    counts = result.counts
    return (f"{result.mode}: read {counts.get('read', 0)}, new {counts.get('new', 0)}, changed {counts.get('changed', 0)}, "
            f"deleted {counts.get('deleted', 0)}, unchanged {counts.get('unchanged', 0)}")


def _finish(session: BackupSession, status: str, **fields) -> None:
    BackupSession.objects.filter(pk=session.pk).update(status=status, ended_at=timezone.now(), **fields)
    audit.session_finished("backup", session, status, fields.get("error", ""))
    session_log(session.pk, f"Finished: {Status(status).label}" + (f" - {fields['error']}" if fields.get("error") else ""))
