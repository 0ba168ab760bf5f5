"""What an operator may do to a session from the Sessions page: cancel it, retry it, or run a full backup of
its job. Each action checks the permission of its kind again (commands and tests call these too) and goes
through the services that own the session (jobs.services, jobs.logbackup.services, restore.sessions)."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied

from audittrail.events import session_cancel_asked
from audittrail.trail import record
from jobs.errors import JobError
from jobs.logbackup.services import log_session_cancel, log_session_create
from jobs.models import BackupSession, LogSession
from jobs.services import session_cancel, session_create
from jobs.sessionlist import url_of
from restore.models import RestoreSession
from restore.sessions import restore_session_cancel
from tenants.models import Tenant

RETRYABLE = ("failed", "interrupted", "cancelled")


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    question: str  # the confirmation page asks it


ACTIONS = {
    "cancel": Action("cancel", "Cancel", "Stop this session? A directory backup keeps no restore point; log chunks "
                                         "stored so far stay; a restore stops after the write in flight."),
    "retry": Action("retry", "Retry", "Start this session again with the same settings?"),
    "full": Action("full", "Run a full backup", "Start a full backup of this job now? It reads every object, "
                                               "which takes longer than an incremental one."),
}
PERMS = {"backup": "jobs.run_backup", "log": "jobs.run_log_backup", "restore": "restore.run_restore"}
MODELS = {"backup": BackupSession, "log": LogSession, "restore": RestoreSession}


def actions_for(user, kind: str, status: str, tenant_id: int) -> list[Action]:
    """The actions `user` may take on a session of this kind and status, of tenant `tenant_id`."""
    return applicable(kind, status) if user.has_perm(PERMS[kind], Tenant(pk=tenant_id)) else []


def applicable(kind: str, status: str) -> list[Action]:
    """The actions that apply to a session of this kind and status, whoever asks."""
    allowed = []
    if status in ("queued", "running"):
        allowed.append(ACTIONS["cancel"])
    if kind in ("backup", "log") and status in RETRYABLE:
        allowed.append(ACTIONS["retry"])
    if kind == "backup" and status not in ("queued", "running"):
        allowed.append(ACTIONS["full"])
    return allowed


def links_for(user, rows, back: str) -> None:
    """Fill each row's `links` with the actions `user` may take on it (the permission asked once per kind and
    tenant), each a link to its confirmation page that comes back to `back`."""
    may, back_query = {}, urlencode({"next": back})
    for row in rows:
        key = (row.kind, row.tenant_id)
        if key not in may:
            may[key] = user.has_perm(PERMS[row.kind], Tenant(pk=row.tenant_id))
        row.links = [(a.label, f"{url_of('jobs:session_action', row.pk, row.kind, a.key)}?{back_query}")
                     for a in applicable(row.kind, row.status)] if may[key] else []


def session_act(*, kind: str, pk: int, action: str, user) -> str:
    """Do `action` on the session and say what happened; PermissionDenied without the kind's permission,
    JobError when the action does not apply (or the tenant is busy)."""
    if action not in ACTIONS or kind not in PERMS:
        raise JobError(f"Unknown action {action[:40]!r} on a {kind[:40]!r} session.")
    session = MODELS[kind].objects.select_related("tenant").get(pk=pk)
    if not user.has_perm(PERMS[kind], session.tenant):
        raise PermissionDenied
    if ACTIONS[action] not in actions_for(user, kind, session.status, session.tenant_id):
        raise JobError(f"Session {pk} is {session.status}: it cannot be {'cancelled' if action == 'cancel' else 'started again'} now.")
    if action == "cancel":
        return _cancel(kind, session, user)
    if kind == "log":
        new = log_session_create(job=session.job, trigger="retry", requested_by=user)
        _record(action, kind, session, user, new)
        return f"Log session {new.pk} queued."
    kind_of_run = "full" if action == "full" else session.kind
    new = session_create(job=session.job, kind=kind_of_run, object_types=session.object_types or None,
                         trigger="manual" if action == "full" else "retry", requested_by=user,
                         attempt=session.attempt + 1 if action == "retry" else 1,
                         retry_of=session if action == "retry" else None)
    _record(action, kind, session, user, new)
    return f"Session {new.pk} queued ({'full backup' if action == 'full' else 'retry'})."


def _cancel(kind: str, session, user) -> str:
    cancel = {"backup": session_cancel, "log": log_session_cancel, "restore": restore_session_cancel}[kind]
    accepted = cancel(session=session, user=user)
    if kind == "restore":  # the backup and log services record their cancels themselves
        session_cancel_asked(kind, session, user, accepted)
    if not accepted:
        raise JobError(f"Session {session.pk} has already finished.")
    return f"Cancellation of session {session.pk} requested."


def _record(action: str, kind: str, session, user, new) -> None:
    """The audit trail entry of a retry ("session.retry") or a full backup ("session.run_full")."""
    record("session.retry" if action == "retry" else "session.run_full", target=f"{kind} session {session.pk}",
           tenant=session.tenant, user=user, detail={"new_session": new.pk})
