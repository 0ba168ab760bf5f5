"""The audit trail entries of backup, log and restore sessions, in one shape wherever they start or end.

`kind` is "backup", "log" or "restore"; the target reads "backup session 42". A session's start is
recorded where it is queued (by a user, a command, the scheduler or a retry), its end where its runner or
the fail-over finishes it, and a cancel where it is asked for.
"""

from audittrail.models import Entry
from audittrail.trail import record

_RESULTS = {"success": Entry.Result.OK, "warning": Entry.Result.WARNING, "cancelled": Entry.Result.CANCELLED}


def session_started(kind: str, session, **detail) -> Entry:
    trigger = getattr(session, "trigger", "manual")
    return record("session.start", target=f"{kind} session {session.pk}", tenant=session.tenant,
                  user=getattr(session, "requested_by", None), detail={"trigger": trigger, **detail})


def session_finished(kind: str, session, status: str, error: str = "") -> Entry:
    """`status` is the session's final status; an error message is kept cut to 300 characters."""
    detail = {"status": status, **({"error": error[:300]} if error else {})}
    return record("session.finish", target=f"{kind} session {session.pk}", tenant=session.tenant_id,
                  result=_RESULTS.get(status, Entry.Result.FAILED), detail=detail)


def session_cancel_asked(kind: str, session, user, accepted: bool) -> Entry:
    """A cancel that came too late (the session had finished) is recorded as failed."""
    return record("session.cancel", target=f"{kind} session {session.pk}", tenant=session.tenant_id, user=user,
                  result=Entry.Result.OK if accepted else Entry.Result.FAILED)
