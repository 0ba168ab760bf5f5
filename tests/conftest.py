"""Fixtures for end-to-end tests: one Graph emulator process per test session, with small tenants."""

import os

import pytest

from dashboard.demo import DEMO_ROLES
from graph_emulator.testing import running_emulator
from tests.support.webhooks import Receiver

# Everything the product's features need (directory backup, logs, Conditional Access, restore).
FULL_ROLES = DEMO_ROLES


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A real `python -m graph_emulator serve` process (HTTPS with its own CA) for the whole session."""
    with running_emulator(tmp_path_factory.mktemp("graph-emulator")) as emu:
        yield emu


@pytest.fixture(scope="session")
def emulated_tenant(emulator):
    """A small generated tenant with a P2 licence."""
    return emulator.control.create_tenant(seed=11, users=40, licence="P2")


# Tenants' seeds follow the order tests run in; E2E_FIRST_SEED replays one test on the tenant a full run gave it
# (the tenant's id is uuid5(NAMESPACE_URL, "graph-emulator/tenant/<seed>/<users>")).
_seeds = iter(range(int(os.environ.get("E2E_FIRST_SEED", "500")), 10_000))


@pytest.fixture
def backed_tenant(emulator, clean_repository_database, db):
    """A fresh emulated tenant registered in entrabackup with every permission, and a backup job for it."""
    from pathlib import Path

    from jobs.services import job_create
    from tenants import services

    info = emulator.control.create_tenant(seed=next(_seeds), users=60, licence="P2")
    app = emulator.control.register_app(info["tenant_id"], roles=FULL_ROLES, display_name="entrabackup e2e")
    tenant = services.tenant_create(
        name=f"E2E {info['tenant_id'][:8]}", directory_id=info["tenant_id"], client_id=app["client_id"],
        credential=services.graph.ClientSecret(app["client_secret"]), cloud="custom", authority_url=emulator.url,
        graph_url=emulator.url, ca_bundle_pem=Path(emulator.ca_path).read_text(),
    )
    job = job_create(tenant=tenant, retries=1)
    return tenant, job, info


@pytest.fixture
def receiver():
    """A webhook receiver on loopback (tests/support/webhooks.py) for the test's duration."""
    r = Receiver()
    yield r
    r.close()
