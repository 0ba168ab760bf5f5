"""Errors of the repositories app. Messages name the repository, never a password."""


class RepositoryError(Exception):
    """Base class."""


class RepositoryUnavailableError(RepositoryError):
    """The repository cannot be reached or used; the message says why and what to do."""
