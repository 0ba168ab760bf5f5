"""Restore pages: who may browse; tenants without restore points show an honest empty state."""

import pytest
from django.urls import reverse

from entrabackup import graph
from tenants.services import tenant_create


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", [200, 200, 404, 404, 404]), ("viewer_persona", [200, 200, 404, 404, 404]),
    ("outsider_persona", [403, 403, 403, 403, 403]),
])
def test_role_matrix_for_restore_pages(client, request, tenant, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    urls = [reverse("restore:restore_index"), reverse("restore:restore_point_list", args=[tenant.pk]),
            reverse("restore:object_explorer", args=[tenant.pk]),  # 404: no restore point yet
            reverse("restore:compare_view", args=[tenant.pk]), reverse("restore:compare_export", args=[tenant.pk])]
    assert [client.get(url).status_code for url in urls] == expected


def test_a_tenant_without_backups_is_listed_with_no_restore_point(client, tenant, admin_persona):
    client.force_login(admin_persona)
    page = client.get(reverse("restore:restore_index")).content.decode()
    assert "Contoso" in page and "Explore objects" not in page
