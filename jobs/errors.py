"""Errors of the jobs app; messages are safe to show to an operator."""


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
