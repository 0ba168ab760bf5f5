"""Running one backup session on a proxy: Graph -> the Entra ID backup repository -> one restore point.

The session row is the source of truth for the pages and the commands. A heartbeat thread keeps it
fresh (a proxy that dies stops beating and the scheduler fails the session over) and carries
cancellation requests to the collectors, which check them every page. Everything a session writes is
invisible until its final commit, so any failure - an exception, a cancel, a SIGKILL - leaves no restore
point behind.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from entrabackup import graph, objecttypes
from entrabackup.vault import VaultError
from jobs.models import BackupSession
from jobs.services import proxy_identity, session_log, session_retry
from repositories.errors import RepositoryUnavailableError
from tenants.errors import TenantNotReadyError

logger = logging.getLogger(__name__)
Status = BackupSession.Status
SKIPPABLE = (graph.PermissionDeniedError, graph.LicenceRequiredError)
CA_TYPES = objecttypes.names_for_feature("conditional_access")


class Heartbeat(threading.Thread):
    """Beats for the session every few seconds and notices cancellation requests."""

    def __init__(self, session_id: int):
        super().__init__(daemon=True, name=f"heartbeat-{session_id}")
        self.session_id, self.cancel_requested = session_id, False
        self._stopping = threading.Event()

    def run(self):
        try:
            while not self._stopping.wait(settings.SESSION_HEARTBEAT_INTERVAL):
                BackupSession.objects.filter(pk=self.session_id).update(heartbeat_at=timezone.now())
                row = BackupSession.objects.filter(pk=self.session_id).values("cancel_requested").first()
                self.cancel_requested = bool(row and row["cancel_requested"])
        finally:
            connection.close()  # this thread's own connection

    def stop(self):
        self._stopping.set()
        self.join(10)


def session_run(*, session_id: int) -> BackupSession | None:
    """Claim the queued session and run it; returns None when another worker got it first."""
    now = timezone.now()
    claimed = BackupSession.objects.filter(pk=session_id, status=Status.QUEUED).update(
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
    from jobs.backup import BackupCancelled

    try:
        _run(session, heartbeat)
    except BackupCancelled:
        _finish(session, Status.CANCELLED, error="Cancelled by an operator; no restore point was kept.")
    except (TenantNotReadyError, RepositoryUnavailableError, graph.GraphError, VaultError) as exc:
        _finish(session, Status.FAILED, error=str(exc))
    except Exception as exc:  # an unexpected bug must still end the session with its cause
        logger.exception("Session %s failed", session.pk, extra={"session_id": session.pk})
        _finish(session, Status.FAILED, error=f"Unexpected error: {type(exc).__name__}: {exc}")


def _run(session: BackupSession, heartbeat: Heartbeat) -> None:
    from jobs.backup import OBJECT_TYPES
    from repositories.services import repository_store
    from tenants.services import tenant_graph_client, tenant_preflight

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
        rp = writer.commit({"session": session.pk, "types": stats, "graph": client.stats.as_dict()})
    session_log(session.pk, f"Restore point {rp} committed.")
    _prune(session, store)
    _finish(session, Status.WARNING if warnings else Status.SUCCESS, restore_point_id=rp, stats=stats,
            warnings=warnings, graph_stats=client.stats.as_dict())


def _backup_types(session, heartbeat, client, writer, types, full):
    from jobs.backup import BackupCancelled, backup_type

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
    session_log(session.pk, f"Finished: {Status(status).label}" + (f" - {fields['error']}" if fields.get("error") else ""))
