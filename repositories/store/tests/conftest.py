"""One embedded PostgreSQL for the whole test session; a fresh database for each test that asks for one."""

import itertools
import os

import pytest

from entrabackup import localdb
from repositories.store import RepositoryStore

_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pg")  # keep it short: the Unix socket path is limited to ~100 chars
    server = localdb.ensure_running(folder)
    yield server
    localdb.stop(folder)


@pytest.fixture
def conninfo(pg_server):
    name = f"store_{os.getpid()}_{next(_numbers)}"
    localdb.ensure_database(pg_server, name)
    return pg_server.conninfo(name)


@pytest.fixture
def store(conninfo):
    """A migrated repository with tenant 'contoso'."""
    with RepositoryStore(conninfo, lock_timeout=1.0) as repo:
        repo.migrate()
        repo.tenant_ensure("contoso", "00000000-0000-0000-0000-000000000001", "Contoso")
        yield repo
