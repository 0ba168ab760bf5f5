"""Errors of the restore app; messages are safe to show."""


class RestoreError(Exception):
    """Base class."""


class RestorePointNotFoundError(RestoreError):
    """No such restore point for that tenant in its repositories."""


class ExportTargetError(RestoreError):
    """The export folder cannot be written, or holds files that are not a previous export."""


class CompareError(RestoreError):
    """Two sides that cannot be compared (restore points of different repositories), or production that
    cannot be read."""
