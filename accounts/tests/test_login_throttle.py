"""Login throttling: repeated wrong passwords lock a user out from that address, on both login pages."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.middleware import USER_AGENT_MAX_LENGTH, user_agent_clean
from accounts.services import login_client_address
from conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db
LOGIN_PAGES = ["accounts:login", "admin:login"]
LOCKED = "Too many failed logins for <strong>alice</strong>"


def _login(client, page, password, address="198.51.100.7", **headers):
    return client.post(reverse(page), {"username": "alice", "password": password}, REMOTE_ADDR=address, **headers)


def _logged_in(client):
    return "_auth_user_id" in client.session


def _fail(client, page, times, **kwargs):
    for _ in range(times):
        _login(client, page, "wrong-password", **kwargs)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, admin_persona, page):
    _fail(client, page, settings.AXES_FAILURE_LIMIT)
    response = _login(client, page, ADMIN_PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "<h1>Login locked</h1>" in body and LOCKED in body
    assert "for 15 minutes" in body and "manage.py login_unlock --username alice" in body
    assert not _logged_in(client)


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_login_works_again_after_the_unlock_command(client, admin_persona, page, capsys):
    _fail(client, page, settings.AXES_FAILURE_LIMIT)
    call_command("login_unlock", username="alice")
    assert "Unlocked user 'alice'" in capsys.readouterr().out
    assert _login(client, page, ADMIN_PASSWORD).status_code == 302
    assert _logged_in(client)


def test_django_axes_own_reset_command_unlocks_too(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    call_command("axes_reset_username", "alice")
    assert _login(client, "accounts:login", ADMIN_PASSWORD).status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock_and_a_login_clears_them(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT - 1)
    assert _login(client, "accounts:login", ADMIN_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_failures_on_both_login_pages_add_up(client, admin_persona):
    _fail(client, "admin:login", settings.AXES_FAILURE_LIMIT - 1)
    _fail(client, "accounts:login", 1)
    assert _login(client, "accounts:login", ADMIN_PASSWORD).status_code == 429


def test_the_lock_holds_for_one_address_only(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    assert _login(client, "accounts:login", ADMIN_PASSWORD, address="203.0.113.50").status_code == 302


def test_a_forged_forwarded_header_does_not_escape_the_lock(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    response = _login(client, "accounts:login", ADMIN_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert response.status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert _login(client, "accounts:login", ADMIN_PASSWORD).status_code == 302


@override_settings(AXES_COOLOFF_TIME=None)
def test_without_a_cool_off_the_page_says_an_administrator_must_unlock(client, admin_persona):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    assert "until an administrator unlocks it" in _login(client, "accounts:login", ADMIN_PASSWORD).content.decode()


def test_an_unknown_user_name_is_locked_the_same_way(client):
    """The lockout page does not tell an attacker which user names exist."""
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT)
    assert LOCKED in _login(client, "accounts:login", "anything").content.decode()


def test_the_recorded_failures_keep_no_password(client, admin_persona):
    _fail(client, "accounts:login", 2)
    attempt = AccessAttempt.objects.get()
    assert "wrong-password" not in attempt.post_data and "password=****" in attempt.post_data


def test_the_lockout_page_escapes_the_user_name(client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("accounts:login"), {"username": "<img src=x onerror=alert(1)>", "password": "x"})
    body = response.content.decode()
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_login_unlock_needs_a_user_or_an_address():
    with pytest.raises(CommandError, match="Give --username NAME, --ip ADDRESS, or both"):
        call_command("login_unlock")


def test_login_unlock_by_address_and_when_nothing_is_locked(client, admin_persona, capsys):
    _fail(client, "accounts:login", settings.AXES_FAILURE_LIMIT, address="192.0.2.9")
    call_command("login_unlock", ip_address="192.0.2.9")
    assert "Unlocked 192.0.2.9: 1 failed-login record(s) cleared." in capsys.readouterr().out
    call_command("login_unlock", username="nobody")
    assert "No failed login is recorded for user 'nobody'" in capsys.readouterr().out
    assert _login(client, "accounts:login", ADMIN_PASSWORD, address="192.0.2.9").status_code == 302


def test_the_test_client_login_still_works(client, admin_persona):
    """Test settings only: `client.login()` carries no request, which django-axes would refuse."""
    assert client.login(username="alice", password=ADMIN_PASSWORD)


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "203.0.113.1", "10.0.0.2"),  # no proxy trusted: the header is the client's word, ignored
    (1, "203.0.113.1", "203.0.113.1"),
    (1, "192.0.2.66, 203.0.113.1", "203.0.113.1"),  # the left entry was written by the client
    (2, "192.0.2.66, 203.0.113.1, 10.0.0.9", "203.0.113.1"),
    (2, "203.0.113.1", "10.0.0.2"),  # fewer entries than proxies: not through them, use the peer
])
def test_login_client_address_trusts_only_the_configured_proxies(proxies, forwarded, expected):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(REVERSE_PROXY_COUNT=proxies):
        assert login_client_address(request) == expected


# A NUL byte, an escape sequence and a C1 control in a User-Agent: PostgreSQL refuses NUL in text, so before
# the header was cleaned every recorded failure (and so every wrong password) was a 500.
HOSTILE_AGENT = "Mozilla/5.0\x00\x1b[31m\x85evil" + "x" * 2000


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_control_characters_in_the_user_agent_do_not_break_the_throttle(client, admin_persona, page):
    for attempt in range(1, settings.AXES_FAILURE_LIMIT):
        response = _login(client, page, "wrong-password", HTTP_USER_AGENT=HOSTILE_AGENT)
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
        assert AccessAttempt.objects.get().failures_since_start == attempt
    assert AccessAttempt.objects.get().user_agent.startswith("Mozilla/5.0[31mevil")
    _login(client, page, "wrong-password", HTTP_USER_AGENT=HOSTILE_AGENT)
    assert _login(client, page, ADMIN_PASSWORD, HTTP_USER_AGENT=HOSTILE_AGENT).status_code == 429


def test_the_user_agent_is_cleaned_and_cut_before_anything_reads_it():
    seen = []
    middleware = user_agent_clean(lambda request: seen.append(request.META["HTTP_USER_AGENT"]))
    middleware(RequestFactory().get("/", HTTP_USER_AGENT=HOSTILE_AGENT))
    assert seen == [("Mozilla/5.0[31mevil" + "x" * 2000)[:USER_AGENT_MAX_LENGTH]]
    assert settings.MIDDLEWARE.index("accounts.middleware.user_agent_clean") < settings.MIDDLEWARE.index(
        "axes.middleware.AxesMiddleware")
