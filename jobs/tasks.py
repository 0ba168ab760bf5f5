"""django-q2 entry points run by the backup proxies. They take primary keys and call a service."""

import os

from django.utils import timezone

from jobs.logrunner import log_session_run
from jobs.runner import session_run
from jobs.services import proxy_host
from jobs.services import scheduler_tick as tick


def proxy_ping(token: str) -> dict:
    """Answer from whichever proxy picked the task up: used to check that a proxy runs tasks end to end."""
    return {"token": token, "proxy": proxy_host(), "pid": os.getpid(), "at": timezone.now().isoformat()}


def run_backup_session(session_id: int) -> str | None:
    """Run one backup session (a no-op when another worker claimed it first).

    A session of a pinned job reaches only its proxy: it was queued under that proxy's name.
    """
    session = session_run(session_id=session_id)
    return session.status if session else None


def scheduler_tick() -> dict:
    """Every minute (a django-q2 schedule): proxies, fail-over of dead sessions, due jobs."""
    return tick()


def run_log_session(session_id: int) -> str | None:
    """Run one log session (a no-op when another worker claimed it first)."""
    session = log_session_run(session_id=session_id)
    return session.status if session else None
