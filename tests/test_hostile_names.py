"""Tenant data is hostile input: display names that are HTML injections reach every page escaped.

Every generated tenant holds a user and a group with such names (graph_emulator/generator/names.py); the tenant
itself is registered under a hostile name too. Each page is checked twice: its HTML carries the escaped form
and never the raw tag, and a real browser opening it raises no JavaScript dialog.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from graph_emulator.generator.names import HOSTILE_GROUP_NAME, HOSTILE_USER_NAME
from jobs.models import BackupSession
from jobs.runner import session_run
from jobs.services import job_create, session_create
from tests.conftest import FULL_ROLES

pytestmark = [pytest.mark.e2e]

HOSTILE_TENANT_NAME = '<img src=x onerror=alert(2)> "><script>alert(2)</script>'
RAW = ("<img src=x onerror", "<script>alert(")  # what must never reach a page unescaped


@pytest.fixture
def hostile_tenant(emulator, clean_repository_database, db):
    """A small emulated tenant registered under a hostile name (its secret expires soon, so the dashboard names
    it), with two restore points; the hostile user changed between them, so its history has two versions."""
    from tenants import services

    info = emulator.control.create_tenant(seed=4242, users=12, licence="P2")
    tid = info["tenant_id"]
    app = emulator.control.register_app(tid, roles=FULL_ROLES, display_name="entrabackup hostile names")
    tenant = services.tenant_create(
        name=HOSTILE_TENANT_NAME, directory_id=tid, client_id=app["client_id"],
        credential=services.graph.ClientSecret(app["client_secret"]), cloud="custom", authority_url=emulator.url,
        graph_url=emulator.url, ca_bundle_pem=Path(emulator.ca_path).read_text(),
        secret_expires_at=timezone.now() + timedelta(days=5),
    )
    job = job_create(tenant=tenant)
    truth = emulator.control.export(tid)
    user = next(u for u in truth["users"] if u["displayName"] == HOSTILE_USER_NAME)
    group = next(g for g in truth["groups"] if g["displayName"] == HOSTILE_GROUP_NAME)
    for n in range(2):
        if n:
            emulator.control.mutate(tid, "update_user", id=user["id"], properties={"jobTitle": "<b>Chief</b>"})
        session = session_create(job=job)
        session_run(session_id=session.pk)
        assert BackupSession.objects.get(pk=session.pk).status == "success"
    return tenant, session, user["id"], group["id"]


def _pages(tenant, session, user_id, group_id) -> dict[str, set[str]]:
    """Every page that shows a hostile name -> the names it must show (escaped)."""
    explorer = reverse("restore:object_explorer", args=[tenant.pk])
    return {
        reverse("dashboard"): {HOSTILE_TENANT_NAME},
        reverse("tenants:tenant_list"): {HOSTILE_TENANT_NAME},
        reverse("tenants:tenant_detail", args=[tenant.pk]): {HOSTILE_TENANT_NAME},
        reverse("tenants:tenant_credential", args=[tenant.pk]): {HOSTILE_TENANT_NAME},
        reverse("jobs:job_list"): {HOSTILE_TENANT_NAME},
        reverse("jobs:session_list"): {HOSTILE_TENANT_NAME},
        reverse("jobs:session_detail", args=[session.pk]): {HOSTILE_TENANT_NAME},
        reverse("restore:restore_index"): {HOSTILE_TENANT_NAME},
        reverse("restore:restore_point_list", args=[tenant.pk]): {HOSTILE_TENANT_NAME},
        f"{explorer}?type=user": {HOSTILE_TENANT_NAME, HOSTILE_USER_NAME},
        f"{explorer}?type=group": {HOSTILE_TENANT_NAME, HOSTILE_GROUP_NAME},
        f"{explorer}?q=alert": {HOSTILE_TENANT_NAME, HOSTILE_USER_NAME, HOSTILE_GROUP_NAME},
        reverse("restore:object_detail", args=[tenant.pk, "user", user_id]): {HOSTILE_TENANT_NAME, HOSTILE_USER_NAME},
        reverse("restore:object_detail", args=[tenant.pk, "group", group_id]): {HOSTILE_TENANT_NAME, HOSTILE_GROUP_NAME},
    }


@pytest.mark.django_db
def test_every_page_showing_a_hostile_name_escapes_it(hostile_tenant, client, admin_persona):
    tenant, session, user_id, group_id = hostile_tenant
    client.force_login(admin_persona)
    for url, names in _pages(*hostile_tenant).items():
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.content.decode(), names, url)
    rows = client.get(reverse("restore:object_explorer", args=[tenant.pk]), {"q": "alert"}, HTTP_HX_REQUEST="true")
    _assert_escaped(rows.content.decode(), {HOSTILE_USER_NAME, HOSTILE_GROUP_NAME}, "explorer rows (htmx)")
    detail = client.get(reverse("restore:object_detail", args=[tenant.pk, "user", user_id])).content.decode()
    assert escape("<b>Chief</b>") in detail and "<b>Chief" not in detail
    assert detail.count('<a href="?rp=') == 2  # its history: the first version and the changed one


def _assert_escaped(html: str, names: set[str], where: str) -> None:
    for name in names:
        assert escape(name) in html, f"{where} does not show {name!r}"
    for raw in RAW:
        assert raw not in html, f"{where} carries the raw {raw!r}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_page_showing_a_hostile_name_runs_its_script_in_a_browser(hostile_tenant, live_server, page, client, admin_persona):
    tenant, *_ = hostile_tenant
    client.force_login(admin_persona)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append((page.url, dialog.message)), dialog.dismiss()))
    for url, names in _pages(*hostile_tenant).items():
        page.goto(live_server.url + url)  # returns after "load": a failed <img src=x> has fired onerror by then
        assert "/accounts/login/" not in page.url
        assert dialogs == [], url
        text = page.locator("body").inner_text()
        assert all(name in text for name in names), url  # shown as text, exactly as Entra holds it
    page.goto(live_server.url + reverse("restore:object_explorer", args=[tenant.pk]))
    page.locator("#q").press_sequentially("onerror")  # the htmx search swaps the rows in place
    page.get_by_text(HOSTILE_USER_NAME, exact=True).wait_for()
    page.wait_for_load_state("networkidle")
    assert dialogs == []
