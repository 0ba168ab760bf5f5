"""django-q2 entry points run by the backup proxies. They take primary keys and call a service."""

import os
import socket

from django.utils import timezone


def proxy_ping(token: str) -> dict:
    """Answer from whichever proxy picked the task up: used to check that a proxy runs tasks end to end."""
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}


def run_backup_session(session_id: int, bounces: int = 0) -> str | None:
    """Run one backup session (a no-op when another worker claimed it first).

    A session pinned to another proxy goes back to the queue for that proxy to take (proxies share one
    queue); after many bounces it fails, saying the pinned proxy does not take it.
    """
    from jobs.runner import session_run
    from jobs.services import session_bounce

    if session_bounce(session_id=session_id, bounces=bounces):
        return "bounced"
    session = session_run(session_id=session_id)
    return session.status if session else None


def scheduler_tick() -> dict:
    """Every minute (a django-q2 schedule): proxies, fail-over of dead sessions, due jobs."""
    from jobs.services import scheduler_tick as tick

    return tick()
