"""Errors of the log store. Callers catch these types, never match message text.

Messages name the repository location, the tenant, log type and chunk path, never a password, a key or a
secret access key.
"""


class LogStoreError(RuntimeError):
    """The log repository cannot do what was asked. Subclasses say why."""


class WrongPasswordError(LogStoreError):
    """The password does not open the repository's key (or a password is missing or not expected)."""


class ChunkDamagedError(LogStoreError):
    """A chunk or its manifest is missing, does not match its recorded hash, or does not decrypt."""


class BackendUnavailableError(LogStoreError):
    """The storage cannot be reached (network, endpoint down): trying again later may succeed."""


class BackendRefusedError(LogStoreError):
    """The storage answered but refuses: no such bucket or directory, no permission, full disk, object lock."""


class LogRepositoryLayoutError(LogStoreError):
    """The storage holds something that is not a log repository of this format, or a name is not valid."""


class ObjectNotFoundError(LogStoreError):
    """The object asked for does not exist in the storage."""


class ChainConflictError(LogStoreError):
    """Another writer moved the chain's recorded head: two writers met on one tenant and log type."""
