"""Values sealed before bindings existed (v1) are sealed again, bound, by the migrations that add them."""

import base64
import secrets
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from entrabackup import vault

BEFORE = [("tenants", "0001_initial"), ("repositories", "0001_initial")]
AFTER = [("tenants", "0002_bind_secrets_to_endpoint"), ("repositories", "0002_bind_secrets_to_endpoint")]


def _seal_v1(value: str, purpose: str) -> str:
    key = vault.load_keys()[0]
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(key.material).encrypt(nonce, value.encode(), purpose.encode())
    return f"v1:{key.key_id}:{base64.b64encode(nonce + ciphertext).decode()}"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrated_back():
    """Migrating back to BEFORE unapplies every later migration of every app that depends on those: after the
    test the database is migrated to the newest state again, or later tests meet missing tables."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_migration_seals_v1_values_again_bound_to_their_row(settings, migrated_back):
    old = _migrate(BEFORE)
    old_tenant = old.get_model("tenants", "Tenant").objects.create(
        key=uuid.uuid4(), name="Old", directory_id="old.example", client_id=uuid.uuid4(), credential_type="secret",
        sealed_credential=_seal_v1("old-secret", "tenants.tenant.sealed_credential"), credential_updated_at=timezone.now())
    old.get_model("repositories", "Repository").objects.create(
        name="Old", kind="remote", host="/run/pg", database="d", user="u", sslmode="prefer",
        sealed_password=_seal_v1("old-pw", "repositories.repository.sealed_password"))
    _migrate(AFTER)
    # The models below are today's: later migrations (new columns) run too; none of them re-seals a value.
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from repositories.models import Repository
    from repositories.services import repository_conninfo
    from tenants.models import Tenant
    from tenants.services import tenant_credential

    tenant = Tenant.objects.get(pk=old_tenant.pk)
    assert tenant.sealed_credential.startswith("v2:")
    assert tenant_credential(tenant).msal_credential() == "old-secret"
    repository = Repository.objects.get(name="Old")
    assert repository.key and repository.sslmode == "disable" and repository.sealed_password.startswith("v2:")
    assert "password=old-pw" in repository_conninfo(repository)
