"""Reads of repositories."""

from repositories.errors import RepositoryError
from repositories.models import LogRepository, Repository


def repositories_visible_to(user):
    if not user.has_perm("repositories.view_repository"):
        return Repository.objects.none()
    return Repository.objects.all()


def repository_named(name: str) -> Repository:
    """The repository with this name (any case), for commands; RepositoryError otherwise."""
    repository = Repository.objects.filter(name__iexact=name).first() if name.isprintable() else None
    if repository is None:
        raise RepositoryError(f"No repository named {name[:100]!r}; see the Repositories page.")
    return repository


def log_repositories_visible_to(user):
    if not user.has_perm("repositories.view_logrepository"):
        return LogRepository.objects.none()
    return LogRepository.objects.all()


def log_repository_named(name: str) -> LogRepository:
    """The log repository with this name (any case), for commands; RepositoryError otherwise."""
    repository = LogRepository.objects.filter(name__iexact=name).first() if name.isprintable() else None
    if repository is None:
        raise RepositoryError(f"No log repository named {name[:100]!r}; see `manage.py log_repository_list`.")
    return repository
