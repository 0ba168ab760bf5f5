"""Errors of the restore app; messages are safe to show."""


class RestoreError(Exception):
    """Base class."""


class RestorePointNotFoundError(RestoreError):
    """No such restore point for that tenant in its repositories."""
