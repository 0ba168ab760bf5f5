"""The store's errors become the product's in one place: `repository_store`."""


import pytest
from django.conf import settings

from entrabackup import localdb
from repositories import services
from repositories.errors import (
    RepositoryError,
    RepositoryLookupError,
    RepositoryMisconfiguredError,
    RepositoryUnavailableError,
    TenantBusyError,
)
from repositories.models import Repository
from tests.support.repositories import closed_port, remote_repository_with_password


@pytest.fixture
def local(db, clean_repository_database):
    repository = services.repository_default()
    with services.repository_store(repository) as store:
        store.tenant_ensure("contoso", "00000000-0000-0000-0000-000000000001", "Contoso")
    return repository




def test_an_unreachable_repository_is_named_with_its_reason(db):
    port = closed_port()
    repository = remote_repository_with_password(password="Offsite-pw", name="Offsite", host="127.0.0.1", port=port,
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
