"""Reads of repositories."""

from repositories.errors import RepositoryError
from repositories.models import Repository


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
