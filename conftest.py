"""Fixtures shared by every test: personas and a headless Chromium driven by Playwright."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there otherwise.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("ENTRABACKUP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def admin_persona(django_user_model):
    """The administrator: a superuser with a known password."""
    return django_user_model.objects.create_superuser(username="alice", email="", password=ADMIN_PASSWORD)


def _user_with(django_user_model, username, *perms):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username=username, password=ADMIN_PASSWORD)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.fixture
def viewer_persona(django_user_model):
    """Sees tenants, changes nothing."""
    return _user_with(django_user_model, "victor", "tenants.view_tenant")


@pytest.fixture
def operator_persona(django_user_model):
    """Registers tenants and tests their connection."""
    return _user_with(django_user_model, "olga", "tenants.view_tenant", "tenants.add_tenant",
                      "tenants.change_tenant", "tenants.test_connection")


@pytest.fixture
def outsider_persona(django_user_model):
    """Logged in, with no permission at all."""
    return _user_with(django_user_model, "oscar")


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's chromium, headless (never a browser downloaded by Playwright)."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does it).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)  # a broken page fails fast instead of after Playwright's 30 s
    yield page
    context.close()
