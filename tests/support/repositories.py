"""Helpers for tests that need repository rows as the product keeps them (used by app and end-to-end tests)."""

import socket

from entrabackup import vault
from repositories.models import Repository


def remote_repository_with_password(*, password: str, **fields) -> Repository:
    """A remote repository row as the product would hold it: its password sealed for this row and endpoint."""
    repository = Repository.objects.create(kind=Repository.Kind.REMOTE, **fields)
    repository.sealed_password = vault.seal(password, purpose=vault.purpose_of(Repository, "sealed_password"),
                                            binding=repository.vault_binding())
    repository.save(update_fields=["sealed_password"])
    return repository


def closed_port() -> int:
    """A loopback TCP port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
