"""Errors of the jobs app, and how a session's failure is classified. Messages are safe to show to an operator."""

from dataclasses import dataclass

from entrabackup import graph
from entrabackup.vault import VaultError
from repositories.errors import RepositoryError
from tenants.errors import TenantError


class JobError(Exception):
    """Base class."""


class ScheduleError(JobError):
    """A schedule cannot be parsed; the message says what was expected."""


class SessionConflictError(JobError):
    """Another session of the same tenant is queued or running."""


class JobValidationError(JobError):
    """A job setting is out of range; `field` names it (the form's field, the command's option)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Failure:
    """Why a session failed, and whether trying again later may help (`transient`) or a fix is needed."""

    message: str
    transient: bool
    unexpected: bool = False  # not an error the product knows: a bug, worth a traceback in the log


# Graph errors that persisted through the client's own retries but may pass: an outage, a storm of 429s.
_TRANSIENT_GRAPH = (graph.GraphUnavailableError, graph.ThrottledError)
_PERMANENT_HINT = "Not retried: fix the cause, then run the job again."


def failure_of(exc: BaseException) -> Failure:
    """Classify what ended a session.

    Permanent: a missing permission or licence, a refused credential, an unknown tenant or host, a vault
    that cannot open a secret, a repository that refuses us - retrying changes nothing until someone acts.
    Transient: Graph unavailable or throttling that outlasted the client's retries, a repository that is
    unreachable or busy - retried after a pause. An unexpected error is treated as transient (with its
    type in the message) so one odd failure does not stop a schedule.
    """
    if isinstance(exc, _TRANSIENT_GRAPH) or (isinstance(exc, RepositoryError) and exc.transient):
        return Failure(str(exc), transient=True)
    if isinstance(exc, graph.GraphError | RepositoryError | TenantError | VaultError):
        return Failure(f"{exc} {_PERMANENT_HINT}", transient=False)
    return Failure(f"Unexpected error: {type(exc).__name__}: {exc}", transient=True, unexpected=True)
