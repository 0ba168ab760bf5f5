"""In a real browser: too many wrong passwords lock the login, and `manage.py login_unlock` (a real
process on the same database) lifts the lock."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from conftest import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"/accounts/login/": "button[type=submit]", "/admin/login/": "input[type=submit]"}


def _log_in(page, url, submit, password):
    page.goto(url)
    page.fill("#id_username", "alice")
    page.fill("#id_password", password)
    page.click(submit)


def _unlock(username):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "entrabackup.settings",
           "ENTRABACKUP_LOCALDB_NAME": settings.DATABASES["default"]["NAME"]}
    return subprocess.run([sys.executable, "manage.py", "login_unlock", "--username", username],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_locked_login_shows_the_lockout_page_on_both_login_pages_until_unlocked(live_server, page, admin_persona):
    site, admin = (f"{live_server.url}{path}" for path in PAGES)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(page, site, PAGES["/accounts/login/"], "not-the-password")
    for url, submit in ((site, PAGES["/accounts/login/"]), (admin, PAGES["/admin/login/"])):
        _log_in(page, url, submit, ADMIN_PASSWORD)
        assert page.get_by_role("heading", name="Login locked").is_visible()
        assert "Too many failed logins for alice" in page.get_by_role("alert").inner_text()

    unlock = _unlock("alice")
    assert unlock.returncode == 0, unlock.stderr
    assert "Unlocked user 'alice'" in unlock.stdout
    _log_in(page, admin, PAGES["/admin/login/"], ADMIN_PASSWORD)
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.get_by_role("heading", name="Login locked").count() == 0
