"""Every page needs a login; the login page and the health check do not."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC = {"accounts:login", "admin:login", "healthz"}


def _page_names(patterns=None, namespace=None):
    """Names of every URL without parameters, project apps and the admin included."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _page_names(entry.url_patterns, ns or None)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groups:
            yield f"{namespace}:{entry.name}" if namespace else entry.name


PAGES = sorted(name for name in set(_page_names()) if name not in PUBLIC and name != "accounts:logout")
APP_PAGES = [
    "dashboard",
    "tenants:tenant_list",
    "jobs:job_list",
    "jobs:session_list",
    "restore:restore_index",
    "restore:log_index",
    "repositories:repository_list",
    "jobs:job_add",
    "tenants:tenant_add",
]


def test_page_list_covers_every_navigation_entry():
    assert set(APP_PAGES) <= set(PAGES)
    assert "admin:index" in PAGES


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitor_is_sent_to_a_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    # The admin index uses its own login page; every other page uses the product's.
    assert response["Location"].split("?")[0] in {reverse("accounts:login"), reverse("admin:login")}


@pytest.mark.django_db
@pytest.mark.parametrize("name", APP_PAGES)
def test_logged_in_operator_sees_the_page_with_navigation(client, admin_persona, name):
    client.force_login(admin_persona)
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("Tenants", "Jobs", "Sessions", "Restore", "Logs", "Repositories", "Admin"):
        assert f">{label}</a>" in body
    assert "htmx" in body  # django-htmx's script tag, served locally


@pytest.mark.django_db
def test_login_page_and_health_check_are_public(client):
    assert client.get(reverse("accounts:login")).status_code == 200
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client, admin_persona):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_needs_a_post_and_ends_the_session(client, admin_persona):
    client.force_login(admin_persona)
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("dashboard")).status_code == 302
