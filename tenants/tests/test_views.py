"""Tenant pages: who may do what, and what a registration leaves behind."""

import pytest
from django.urls import reverse

from entrabackup import graph
from tenants import services
from tenants.models import Tenant

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def tenant(db):
    return services.tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT,
                                  credential=graph.ClientSecret("Zq8~verysecretvalue"))


def _status(client, user, method, url, data=None):
    client.force_login(user)
    return (client.post(url, data or {}) if method == "post" else client.get(url)).status_code


@pytest.mark.django_db
@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", {"list": 200, "detail": 200, "add": 200, "credential": 200, "connection": 200, "certificate": 404}),
    ("operator_persona", {"list": 200, "detail": 200, "add": 200, "credential": 200, "connection": 200, "certificate": 404}),
    ("viewer_persona", {"list": 200, "detail": 200, "add": 403, "credential": 403, "connection": 403, "certificate": 404}),
    ("outsider_persona", {"list": 403, "detail": 403, "add": 403, "credential": 403, "connection": 403, "certificate": 403}),
])
def test_role_matrix_for_tenant_pages(client, request, tenant, persona, expected):
    user = request.getfixturevalue(persona)
    urls = {
        "list": reverse("tenants:tenant_list"), "detail": reverse("tenants:tenant_detail", args=[tenant.pk]),
        "add": reverse("tenants:tenant_add"), "credential": reverse("tenants:tenant_credential", args=[tenant.pk]),
        "connection": reverse("tenants:tenant_connection", args=[tenant.pk]),
        "certificate": reverse("tenants:tenant_certificate", args=[tenant.pk]),
    }
    assert {name: _status(client, user, "get", url) for name, url in urls.items()} == expected


@pytest.mark.django_db
def test_only_operators_may_run_a_connection_test(client, tenant, viewer_persona):
    assert _status(client, viewer_persona, "post", reverse("tenants:tenant_check", args=[tenant.pk])) == 403
    tenant.refresh_from_db()
    assert tenant.check_status == Tenant.CheckStatus.NEVER


@pytest.mark.django_db
def test_registering_with_a_secret_seals_it_and_never_shows_it_again(client, operator_persona):
    client.force_login(operator_persona)
    response = client.post(reverse("tenants:tenant_add"), {
        "name": "Fabrikam", "directory_id": "FABRIKAM.onmicrosoft.com", "client_id": CLIENT, "cloud": "global",
        "features": ["directory_backup", "log_backup"], "credential_kind": "secret",
        "client_secret": "Xy7~top-secret-value", "secret_expires_on": "2027-05-01",
    }, follow=True)
    tenant = Tenant.objects.get(name="Fabrikam")
    assert response.redirect_chain[-1][0] == reverse("tenants:tenant_detail", args=[tenant.pk])
    page = response.content.decode()
    assert "Tenant registered." in page and "Xy7~top-secret-value" not in page
    assert tenant.directory_id == "fabrikam.onmicrosoft.com"
    assert tenant.features == ["directory_backup", "log_backup"]
    assert tenant.credential_expires_at.date().isoformat() == "2027-05-01"
    assert "Xy7~top-secret-value" not in tenant.sealed_credential
    form_again = client.get(reverse("tenants:tenant_credential", args=[tenant.pk])).content.decode()
    assert "Xy7~top-secret-value" not in form_again


@pytest.mark.django_db
def test_bad_registration_input_gets_specific_errors_and_saves_nothing(client, operator_persona):
    client.force_login(operator_persona)
    response = client.post(reverse("tenants:tenant_add"), {
        "name": "Bad", "directory_id": "not a tenant", "client_id": "123", "cloud": "global",
        "credential_kind": "secret", "client_secret": "",
    })
    page = response.content.decode()
    assert response.status_code == 200
    assert "is neither a directory (tenant) ID" in page
    assert "Enter a valid UUID" in page
    assert "Enter the client secret" in page
    assert not Tenant.objects.exists()


@pytest.mark.django_db
def test_generating_a_certificate_offers_its_public_part_for_download(client, operator_persona):
    client.force_login(operator_persona)
    response = client.post(reverse("tenants:tenant_add"), {
        "name": "Gen", "directory_id": "gen.example", "client_id": CLIENT, "cloud": "global",
        "credential_kind": "generate",
    }, follow=True)
    assert "Download the certificate below" in response.content.decode()
    tenant = Tenant.objects.get(name="Gen")
    download = client.get(reverse("tenants:tenant_certificate", args=[tenant.pk]))
    body = download.content.decode()
    assert download["Content-Disposition"].startswith("attachment;")
    assert body.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in body


@pytest.mark.django_db
def test_tenant_list_warns_about_an_expiring_secret(client, admin_persona):
    from datetime import timedelta

    from django.utils import timezone

    services.tenant_create(name="Soon", directory_id="soon.example", client_id=CLIENT,
                           credential=graph.ClientSecret("s"), secret_expires_at=timezone.now() + timedelta(days=5))
    client.force_login(admin_persona)
    page = client.get(reverse("tenants:tenant_list")).content.decode()
    assert "Soon: The client secret expires on" in page
