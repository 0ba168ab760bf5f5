"""django-q2 entry points run by the backup proxies. They take primary keys and call a service."""

import os

from django.utils import timezone

from jobs.logrunner import log_session_run
from jobs.runner import session_run
from jobs.services import proxy_host
from jobs.services import scheduler_tick as tick
from repositories.errors import RepositoryError
from repositories.models import LogRepository
from repositories.services import log_repository_check


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


def check_log_repository(repository_id: int) -> str:
    """The scheduled health check of one log repository: manifests, chunks, the chain and decryption.

    The result (or why the repository could not be read) is recorded on its row for the Repositories page.
    """
    repository = LogRepository.objects.filter(pk=repository_id).first()
    if repository is None:
        return "removed"
    try:
        report = log_repository_check(repository=repository)
    except RepositoryError:
        return "unavailable"  # recorded on the row by the check
    return "ok" if report.ok else "damaged"
