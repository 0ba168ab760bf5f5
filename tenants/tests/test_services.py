"""Tenant registration: validation, sealed credentials, certificates, expiry warnings."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import connection
from django.utils import timezone

from entrabackup import graph
from tenants import services
from tenants.errors import CredentialError, TenantValidationError
from tenants.models import Tenant

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("value, expected", [
    ("72F988BF-86F1-41AF-91AB-2D7CD011DB47", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
    (" Contoso.onmicrosoft.com ", "contoso.onmicrosoft.com"),
    ("login.contoso.co.uk", "login.contoso.co.uk"),
])
def test_directory_id_accepts_a_guid_or_a_domain(value, expected):
    assert services.directory_id_normalise(value) == expected


@pytest.mark.parametrize("value", ["", "contoso", "72f988bf-86f1-41af", "http://contoso.com", "a b.com"])
def test_directory_id_rejects_anything_else_with_a_clear_message(value):
    with pytest.raises(TenantValidationError, match="neither a directory"):
        services.directory_id_normalise(value)


@pytest.mark.django_db
def test_client_secret_is_sealed_in_the_database(settings):
    tenant = services.tenant_create(name="Contoso", directory_id="contoso.onmicrosoft.com", client_id=CLIENT,
                                    credential=graph.ClientSecret("Zq8~verysecretvalue"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenants_tenant")
        row = str(cursor.fetchall())
    assert "Zq8~verysecretvalue" not in row
    assert services.tenant_credential(tenant).msal_credential() == "Zq8~verysecretvalue"
    assert tenant.features == services.DEFAULT_FEATURES  # least privilege: restore is chosen, never assumed


@pytest.mark.django_db
def test_a_generated_certificate_keeps_its_key_sealed_and_its_public_part_downloadable():
    generated = services.tenant_generate_certificate(tenant_name="Fabrikam")
    tenant = services.tenant_create(name="Fabrikam", directory_id="fabrikam.example", client_id=CLIENT,
                                    credential=generated.credential())
    assert tenant.credential_type == Tenant.CredentialType.CERTIFICATE
    assert "PRIVATE KEY" not in tenant.sealed_credential and "PRIVATE KEY" not in tenant.certificate_pem
    assert tenant.certificate_thumbprint == generated.thumbprint_sha1
    assert tenant.credential_expires_at == generated.not_after
    assert services.tenant_credential(tenant).thumbprint_sha1 == generated.thumbprint_sha1


def _pem_and_pfx(password: bytes):
    generated = graph.generate_self_signed("upload test")
    key = serialization.load_pem_private_key(generated.private_key_pem.encode(), None)
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    pfx = pkcs12.serialize_key_and_certificates(b"t", key, cert, None, serialization.BestAvailableEncryption(password))
    return generated, (generated.private_key_pem + generated.certificate_pem).encode(), pfx


def test_uploaded_pem_and_pfx_certificates_are_read_and_a_wrong_password_is_clear():
    generated, pem, pfx = _pem_and_pfx(b"pfx-pass")
    assert services.certificate_from_upload(pem).thumbprint_sha1 == generated.thumbprint_sha1
    assert services.certificate_from_upload(pfx, "pfx-pass").thumbprint_sha1 == generated.thumbprint_sha1
    with pytest.raises(CredentialError, match="wrong password"):
        services.certificate_from_upload(pfx, "nope")
    with pytest.raises(CredentialError, match="both the private key and the certificate"):
        services.certificate_from_upload(generated.certificate_pem.encode())


@pytest.mark.django_db
def test_custom_cloud_needs_https_urls_and_other_clouds_refuse_them():
    with pytest.raises(TenantValidationError, match="https"):
        services.tenant_create(name="X", directory_id="x.example", client_id=CLIENT, credential=graph.ClientSecret("s"),
                               cloud="custom", authority_url="http://login.example", graph_url="https://graph.example")
    with pytest.raises(TenantValidationError, match="only for a custom cloud"):
        services.tenant_create(name="X", directory_id="x.example", client_id=CLIENT, credential=graph.ClientSecret("s"),
                               cloud="global", authority_url="https://login.example")
    assert not Tenant.objects.exists()


@pytest.mark.django_db
def test_a_name_or_a_tenant_registered_twice_is_refused():
    services.tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT, credential=graph.ClientSecret("s"))
    with pytest.raises(TenantValidationError, match="already registered"):
        services.tenant_create(name="contoso", directory_id="other.example", client_id=CLIENT, credential=graph.ClientSecret("s"))


@pytest.mark.django_db
def test_expiry_warning_before_and_after_a_secret_expires(settings):
    settings.CREDENTIAL_WARN_DAYS = 30
    now = timezone.now()
    tenant = services.tenant_create(name="C", directory_id="c.example", client_id=CLIENT,
                                    credential=graph.ClientSecret("s"), secret_expires_at=now + timedelta(days=90))
    assert services.credential_expiry_warning(tenant, now=now) is None
    assert "expires on" in services.credential_expiry_warning(tenant, now=now + timedelta(days=70))
    assert "expired on" in services.credential_expiry_warning(tenant, now=now + timedelta(days=91))
