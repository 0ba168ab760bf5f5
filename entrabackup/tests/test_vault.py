"""Secrets are sealed with a key that is not in the database, and the key can be rotated."""

import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from entrabackup import graph, vault
from tenants.models import Tenant
from tenants.services import tenant_create, tenant_credential


@pytest.fixture
def key_file(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ENTRABACKUP_SECRETS_KEY", raising=False)
    settings.SECRETS_KEY_FILE = tmp_path / "secrets.key"
    return settings.SECRETS_KEY_FILE


def test_key_file_is_created_private_and_reused(key_file):
    sealed = vault.seal("s3cret-value", purpose="p")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "s3cret-value" not in sealed
    assert vault.unseal(sealed, purpose="p") == "s3cret-value"
    assert vault.load_keys() == vault.load_keys()


def test_a_sealed_value_is_bound_to_its_purpose(key_file):
    sealed = vault.seal("value", purpose="tenants.tenant.sealed_credential")
    with pytest.raises(vault.VaultError, match="does not open here"):
        vault.unseal(sealed, purpose="repositories.repository.sealed_password")


def test_a_value_sealed_with_a_missing_key_names_the_key_not_the_value(key_file, monkeypatch):
    sealed = vault.seal("zebra-secret-42", purpose="p")
    monkeypatch.setenv("ENTRABACKUP_SECRETS_KEY", vault.generate_key())
    with pytest.raises(vault.VaultError) as caught:
        vault.unseal(sealed, purpose="p")
    assert vault.sealed_key_id(sealed) in str(caught.value)
    assert "zebra" not in str(caught.value)


def test_keys_from_the_environment_win_and_a_malformed_key_is_a_clear_error(key_file, monkeypatch):
    first, second = vault.generate_key(), vault.generate_key()
    monkeypatch.setenv("ENTRABACKUP_SECRETS_KEY", f"{first},{second}")
    assert [k.key_id for k in vault.load_keys()] == [vault.parse_key(first, source="t").key_id,
                                                     vault.parse_key(second, source="t").key_id]
    assert not key_file.exists()
    monkeypatch.setenv("ENTRABACKUP_SECRETS_KEY", "too-short")
    with pytest.raises(Exception, match="ENTRABACKUP_SECRETS_KEY holds a key that is not 32 bytes"):
        vault.load_keys()


@pytest.mark.django_db
def test_rotate_seals_every_credential_again_and_drops_the_old_key(key_file, capsys):
    tenant = tenant_create(name="Contoso", directory_id="contoso.onmicrosoft.com",
                           client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("abc~123"))
    old_id = vault.sealed_key_id(tenant.sealed_credential)
    call_command("secrets_key", "rotate")
    tenant.refresh_from_db()
    new_id = vault.sealed_key_id(tenant.sealed_credential)
    assert new_id != old_id
    assert [k.key_id for k in vault.load_keys()] == [new_id]
    assert tenant_credential(tenant).msal_credential() == "abc~123"
    call_command("secrets_key", "status")
    assert f"{new_id}  seals new values; 1 sealed values" in capsys.readouterr().out


@pytest.mark.django_db
def test_reseal_refuses_and_changes_nothing_when_a_value_cannot_be_opened(key_file, monkeypatch):
    tenant_create(name="A", directory_id="a.example.org", client_id="11111111-2222-3333-4444-555555555555",
                  credential=graph.ClientSecret("one"))
    before = list(Tenant.objects.values_list("sealed_credential", flat=True))
    monkeypatch.setenv("ENTRABACKUP_SECRETS_KEY", vault.generate_key())
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("secrets_key", "reseal")
    assert list(Tenant.objects.values_list("sealed_credential", flat=True)) == before
