"""The store's errors become the product's in one place: `repository_store`."""

import socket

import pytest
from django.conf import settings

from entrabackup import localdb, vault
from repositories import services
from repositories.errors import (
    RepositoryError,
    RepositoryLookupError,
    RepositoryMisconfiguredError,
    RepositoryUnavailableError,
    TenantBusyError,
)
from repositories.models import Repository


@pytest.fixture
def local(db, clean_repository_database):
    repository = services.repository_default()
    with services.repository_store(repository) as store:
        store.tenant_ensure("contoso", "00000000-0000-0000-0000-000000000001", "Contoso")
    return repository


def _remote_with_password(**fields) -> Repository:
    """A remote repository row as the product would hold it: TLS verified, its password sealed for it."""
    repository = Repository.objects.create(kind="remote", **{k: v for k, v in fields.items() if k != "kind"})
    repository.sealed_password = vault.seal("Offsite-pw", purpose=vault.purpose_of(Repository, "sealed_password"),
                                            binding=repository.vault_binding())
    repository.save(update_fields=["sealed_password"])
    return repository


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_repository_is_named_with_its_reason(db):
    port = _closed_port()
    repository = _remote_with_password(name="Offsite", kind="remote", host="127.0.0.1", port=port,
                                           database="eb", user="backup", sslmode="verify-full")
    with pytest.raises(RepositoryUnavailableError) as caught, services.repository_store(repository) as store:
        store.restore_points("contoso")
    assert str(caught.value).startswith("Repository Offsite is unreachable: ") and "connection refused" in str(caught.value)
    assert caught.value.transient


def test_a_busy_tenant_is_a_typed_error(local):
    with services.repository_store(local) as store, store.session("contoso", "s1", "full"):
        with pytest.raises(TenantBusyError, match="Repository Local repository is busy") as caught:
            with services.repository_store(local) as other:
                other.lock_timeout = 0.2
                other.prune("contoso", keep_restore_points=1)
    assert caught.value.transient


def test_lookups_and_refusals_are_repository_errors_that_do_not_pass_by_themselves(local):
    with pytest.raises(RepositoryLookupError, match="no committed restore point 999") as caught:
        with services.repository_store(local) as store:
            store.objects("contoso", 999)
    assert isinstance(caught.value, RepositoryError) and not caught.value.transient
    server = localdb.ensure_running(settings.LOCALDB_PGDATA)
    refused = Repository.objects.create(name="Nobody", kind="remote", host=str(server.socket_dir), port=server.port,
                                        database=local.database, user="nobody_here", sslmode="disable")
    with pytest.raises(RepositoryMisconfiguredError, match="Repository Nobody refused the connection"):
        with services.repository_store(refused) as store:
            store.restore_points("contoso")
