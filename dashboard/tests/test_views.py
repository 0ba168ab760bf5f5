"""The dashboard and the logs page show nothing of any tenant or proxy to a user who may not see them."""

import time

import pytest
from django.urls import reverse
from django_q.status import Stat

from conftest import _user_with
from entrabackup import graph
from jobs.models import Proxy
from tenants.services import tenant_create
from tests.support.processes import backup_proxy

PAGES = ["dashboard", "restore:log_index", "jobs:session_list", "jobs:job_list", "tenants:tenant_list",
         "restore:restore_index", "repositories:repository_list"]


@pytest.fixture
def no_tenant_user(django_user_model):
    """May see sessions and jobs, but no tenant: a user scoped to nothing."""
    return _user_with(django_user_model, "nina", "jobs.view_backupsession", "jobs.view_backupjob")


def _wait_for_proxy(name: str) -> Proxy:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        proxy = Proxy.objects.filter(name=name).first()
        if proxy and any(str(s.cluster_id) == proxy.cluster_id for s in Stat.get_all()):
            return proxy
        time.sleep(0.2)
    raise AssertionError(f"proxy {name} never reported")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_pages_open_to_everyone_show_no_tenant_or_proxy_to_users_without_access(
        client, admin_persona, outsider_persona, no_tenant_user, clean_repository_database):
    tenant = tenant_create(name="Fabrikam Secret Holdings", directory_id="fabrikam-secret.example",
                           client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))
    with backup_proxy(name="proxy-hidden-7"):
        proxy = _wait_for_proxy("proxy-hidden-7")
        secrets = [tenant.name, tenant.directory_id, str(tenant.key), proxy.name, proxy.cluster_id]
        client.force_login(admin_persona)
        seen = "".join(client.get(reverse(name)).content.decode() for name in PAGES)
        assert tenant.name in seen and proxy.name in client.get("/").content.decode()  # what could leak, shows
        for user in (outsider_persona, no_tenant_user):
            client.force_login(user)
            for name in PAGES:
                response = client.get(reverse(name))
                assert response.status_code in (200, 403), (user, name)
                body = response.content.decode()
                assert [s for s in secrets if s in body] == [], (user.username, name)
