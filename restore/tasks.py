"""django-q2 entry points of the restore app, run by the backup proxies."""

from restore.runner import restore_session_run


def run_restore_session(session_id: int) -> str | None:
    """Apply one restore session's plan (a no-op when another worker claimed it first)."""
    session = restore_session_run(session_id=session_id)
    return session.status if session else None
