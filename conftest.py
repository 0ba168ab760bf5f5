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


VIEW = ["tenants.view_tenant", "jobs.view_backupjob", "jobs.view_backupsession", "repositories.view_repository",
        "restore.browse_backups"]


@pytest.fixture
def viewer_persona(django_user_model):
    """Sees tenants, jobs, sessions, repositories, restore points and backed-up objects; changes nothing.
    (Direct permissions, for all tenants: the roles of docs/access.md are tested in tests/test_access_matrix.py.)"""
    return _user_with(django_user_model, "victor", *VIEW)


@pytest.fixture
def operator_persona(django_user_model):
    """Registers tenants, tests their connection, manages and runs backup jobs."""
    return _user_with(django_user_model, "olga", *VIEW, "tenants.add_tenant", "tenants.change_tenant", "tenants.change_credential",
                      "tenants.test_connection", "jobs.add_backupjob", "jobs.run_backup")


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


@pytest.fixture(scope="session")
def clean_repository_database(django_db_setup, django_db_blocker):
    """The test run's local repository database starts empty (never the installation's repository)."""
    import psycopg
    from django.conf import settings

    from entrabackup import localdb

    server = localdb.ensure_running(settings.LOCALDB_PGDATA)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.REPOSITORY_DEFAULT_DATABASE}" WITH (FORCE)')
