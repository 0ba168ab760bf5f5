"""Reads of repositories."""

from repositories.models import Repository


def repositories_visible_to(user):
    if not user.has_perm("repositories.view_repository"):
        return Repository.objects.none()
    return Repository.objects.all()
