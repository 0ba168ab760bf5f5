"""Secrets are sealed with a key that is not in the database, and the key can be rotated."""

import base64
import stat

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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


def test_a_value_is_bound_to_its_row_and_endpoint(key_file):
    here = vault.endpoint_binding("row-1", {"url": "https://a.example", "port": None})
    sealed = vault.seal("value", purpose="p", binding=here)
    assert vault.unseal(sealed, purpose="p", binding=here) == "value"
    for other in (vault.endpoint_binding("row-2", {"url": "https://a.example", "port": None}),
                  vault.endpoint_binding("row-1", {"url": "https://b.example", "port": None}),
                  vault.endpoint_binding("row-1", {"url": "https://a.example", "port": 5432}), ""):
        with pytest.raises(vault.VaultError, match="another row or another endpoint") as caught:
            vault.unseal(sealed, purpose="p", binding=other)
        assert "value" not in str(caught.value).split("endpoint")[0]


def test_an_unbound_v1_value_never_opens_where_a_binding_is_expected(key_file):
    """A value sealed before bindings existed (an old database copy) cannot be planted in a row."""
    key = vault.load_keys()[0]
    nonce = b"\x00" * 12
    legacy = f"v1:{key.key_id}:{base64.b64encode(nonce + AESGCM(key.material).encrypt(nonce, b'old', b'p')).decode()}"
    assert vault.unseal_legacy(legacy, purpose="p") == "old"
    with pytest.raises(vault.VaultError, match="sealed before secrets were bound"):
        vault.unseal(legacy, purpose="p", binding="row|fingerprint")


@pytest.mark.django_db
def test_rotate_keeps_each_value_bound_to_its_row_and_endpoint(key_file, settings):
    from entrabackup import localdb
    from repositories.models import Repository
    from repositories.services import repository_conninfo

    server = localdb.ensure_running(settings.LOCALDB_PGDATA)
    repository = Repository(name="R", kind="remote", host=str(server.socket_dir), database="d", user="u", sslmode="disable")
    repository.sealed_password = vault.seal("pw-1", purpose="repositories.repository.sealed_password",
                                            binding=repository.vault_binding())
    repository.save()
    tenant = tenant_create(name="T", directory_id="t.example", client_id="11111111-2222-3333-4444-555555555555",
                           credential=graph.ClientSecret("abc~123"))
    call_command("secrets_key", "rotate")
    tenant.refresh_from_db()
    repository.refresh_from_db()
    assert tenant_credential(tenant).msal_credential() == "abc~123"
    assert "password=pw-1" in repository_conninfo(repository)
    Tenant.objects.filter(pk=tenant.pk).update(graph_url="https://graph.attacker.example", cloud="custom",
                                               authority_url="https://login.attacker.example")
    with pytest.raises(CommandError, match=f"tenants.Tenant {tenant.pk} .*another row or another endpoint"):
        call_command("secrets_key", "reseal")
