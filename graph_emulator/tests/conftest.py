"""Shared fixtures: one in-process emulator per session (fast) with small tenants; helpers for tokens."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import msal
import pytest
import requests

from graph_emulator.control import ssl_context
from graph_emulator.testing import InProcessEmulator

FIXTURES = Path(__file__).with_name("fixtures")
ALL_READ = ["Directory.Read.All", "User.Read.All", "Group.Read.All", "AuditLog.Read.All", "Policy.Read.All",
            "Application.Read.All", "RoleManagement.Read.Directory", "Device.Read.All"]
ALL_WRITE = ALL_READ + ["Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
                        "Policy.ReadWrite.ConditionalAccess", "Application.ReadWrite.All",
                        "AppRoleAssignment.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod"]
_seeds = itertools.count(100)


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def msal_session(ca_path: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify= (https://learn.microsoft.com/entra/msal/python/)
    s.verify = ca_path
    return s


def acquire(url: str, ca_path: str, tenant: str, client_id: str, credential) -> dict:
    app = msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=f"{url}/{tenant}",
                                             instance_discovery=False, http_client=msal_session(ca_path))
    return app.acquire_token_for_client(["https://graph.microsoft.com/.default"])


class Graph:
    """A tenant plus an httpx client authenticated as an app holding ``roles``."""

    def __init__(self, emu, tenant: dict, roles: list[str]):
        self.emu, self.tenant, self.tid = emu, tenant, tenant["tenant_id"]
        self.app = emu.control.register_app(self.tid, roles)
        token = acquire(emu.url, emu.ca_path, self.tid, self.app["client_id"], self.app["client_secret"])
        self.token = token["access_token"]
        self.http = httpx.Client(base_url=emu.url, verify=ssl_context(emu.ca_path), trust_env=False, timeout=60,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def all_pages(self, url: str, **kw) -> list[dict]:
        items = []
        while url:
            body = self.http.get(url, **kw).json()
            items += body["value"]
            url = body.get("@odata.nextLink")
        return items

    def mutate(self, kind: str, **params):
        return self.emu.control.mutate(self.tid, kind, **params)

    def export(self):
        return self.emu.control.export(self.tid)


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    with InProcessEmulator(tmp_path_factory.mktemp("graph-emulator")) as e:
        yield e


@pytest.fixture(scope="session")
def shared(emu) -> Graph:
    """Read-only tests share this tenant (never mutate it)."""
    tenant = emu.control.create_tenant(seed=7, users=120)
    return Graph(emu, tenant, ALL_READ)


@pytest.fixture
def fresh(emu):
    """A new small tenant per test for anything that writes, with a read/write app."""
    def make(users: int = 40, licence: str = "P2", roles: list[str] | None = None) -> Graph:
        tenant = emu.control.create_tenant(seed=next(_seeds), users=users, licence=licence)
        return Graph(emu, tenant, roles or ALL_WRITE)
    return make
