"""Errors of the repositories app. Messages name the repository, never a password.

`transient` says whether the same operation may succeed later without anyone changing anything; a backup
session that fails with a transient error is retried after a pause, one that fails otherwise is not.
"""


class RepositoryError(Exception):
    """Base class."""

    transient = False


class RepositoryUnavailableError(RepositoryError):
    """The repository cannot be reached or the connection broke; the message says why."""

    transient = True


class RepositoryMisconfiguredError(RepositoryError):
    """The repository refuses us (missing database, authentication, permission) or its schema does not fit."""


class TenantBusyError(RepositoryError):
    """Another session of the tenant holds its lock in the repository."""

    transient = True


class RepositoryLookupError(RepositoryError):
    """The tenant or restore point asked for is not in the repository."""


class LogRepositoryPasswordError(RepositoryMisconfiguredError):
    """The password does not open the log repository's key (or one is missing, or too short)."""


class LogChunkDamagedError(RepositoryError):
    """A log chunk or its manifest is missing, damaged or replaced; the message names the chunk."""


class LogChainConflictError(TenantBusyError):
    """Another writer moved the chain of a tenant's log type in a log repository while this one wrote it."""
