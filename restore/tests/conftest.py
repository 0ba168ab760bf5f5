"""A real repository for the engine tests: one embedded PostgreSQL, one migrated repository per test module
(creating and migrating a database per test would cost seconds each)."""

import itertools
import os

import pytest

from entrabackup import localdb
from repositories.store import RepositoryStore
from repositories.store.tests.conftest import pg_server  # noqa: F401 - pytest fixture

_numbers = itertools.count()


@pytest.fixture(scope="module")
def module_store(pg_server):  # noqa: F811 - the imported fixture
    name = f"compare_{os.getpid()}_{next(_numbers)}"
    localdb.ensure_database(pg_server, name)
    with RepositoryStore(pg_server.conninfo(name), lock_timeout=1.0) as repo:
        repo.migrate()
        repo.tenant_ensure("contoso", "00000000-0000-0000-0000-000000000001", "Contoso")
        yield repo
