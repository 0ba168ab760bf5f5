"""Fixtures: a real Graph emulator (in-process), a real local PostgreSQL with the repository store, and a
GraphClient per test tenant. No Django database is used."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from entrabackup import localdb
from entrabackup.graph import ClientSecret, GraphClient, custom_cloud
from graph_emulator.testing import InProcessEmulator
from jobs.backup import OBJECT_TYPES, backup_type
from repositories.store import RepositoryStore

from .truth import repository_snapshot, truth_snapshot

READ_ROLES = ["Directory.Read.All", "User.Read.All", "Group.Read.All", "Application.Read.All", "Policy.Read.All",
              "RoleManagement.Read.Directory", "Device.Read.All", "AdministrativeUnit.Read.All"]
_seeds = itertools.count(9100)


@pytest.fixture(scope="session")
def store():
    """A repository on a private PostgreSQL server; its folder is short (socket path limit) and outside
    pytest's basetemp, which other runs may rotate away."""
    root = Path(tempfile.mkdtemp(prefix="ebc-", dir="/tmp"))
    try:
        server = localdb.ensure_running(root / "pg")
        localdb.ensure_database(server, "collectors")
        repo = RepositoryStore(server.conninfo("collectors"))
        repo.migrate()
        yield repo
        repo.close()
    finally:
        localdb.stop(root / "pg")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    with InProcessEmulator(tmp_path_factory.mktemp("collectors-emulator")) as emulator:
        yield emulator


class Tenant:
    """One emulated tenant, its app, a GraphClient and the repository tenant of the same key."""

    def __init__(self, emu, store: RepositoryStore, users: int, transport=None):
        self.emu, self.store = emu, store
        self.tid = emu.control.create_tenant(seed=next(_seeds), users=users)["tenant_id"]
        app = emu.control.register_app(self.tid, READ_ROLES)
        cloud = custom_cloud(emu.url, emu.url, emu.ca_path, name="emulator")
        self.client = GraphClient(cloud, self.tid, app["client_id"], ClientSecret(app["client_secret"]),
                                  pacing=False, transport=transport)
        store.tenant_ensure(self.tid, self.tid, "Test tenant")
        self._sessions = itertools.count(1)

    def mutate(self, kind: str, **params) -> dict:
        return self.emu.control.mutate(self.tid, kind, **params)

    def configure(self, **config) -> dict:
        return self.emu.control.configure(self.tid, **config)

    def truth(self) -> dict:
        return truth_snapshot(self.emu.control.export(self.tid))

    def snapshot(self, restore_point: int) -> dict:
        return repository_snapshot(self.store, self.tid, restore_point)

    def backup(self, full: bool, types=None, **kwargs) -> tuple[int, dict, int]:
        """One session over ``types`` (default all); returns (restore point, results by type, requests)."""
        before = self.client.stats.requests
        results, self.requests_by_type = {}, {}
        kind = "full" if full else "incremental"
        with self.store.session(self.tid, f"{kind}-{next(self._sessions)}-{time.time_ns()}", kind) as writer:
            for object_type in types or OBJECT_TYPES:
                start = self.client.stats.requests
                results[object_type] = backup_type(self.client, writer, object_type, full=full, **kwargs)
                self.requests_by_type[object_type] = self.client.stats.requests - start
            rp = writer.commit({"test": True})
        return rp, results, self.client.stats.requests - before

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def new_tenant(emu, store):
    made = []

    def make(users: int = 60, transport=None) -> Tenant:
        made.append(Tenant(emu, store, users, transport))
        return made[-1]

    yield make
    for tenant in made:
        tenant.close()
