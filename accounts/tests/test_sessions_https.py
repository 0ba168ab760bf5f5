"""A login lasts 8 hours and ends with the browser; production answers over HTTPS only."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db
PRODUCTION_HTTPS = {"SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31536000,
                    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}


def _log_in(client):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": ADMIN_PASSWORD})
    assert response.status_code == 302
    return response


def test_the_session_cookie_ends_with_the_browser_and_the_session_after_8_hours(client, admin_persona):
    cookie = _log_in(client).cookies["sessionid"]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    expires = Session.objects.get(session_key=cookie.value).expire_date
    assert abs(expires - (timezone.now() + timedelta(hours=8))) < timedelta(minutes=1)


def test_an_expired_session_is_sent_back_to_the_login_page(client, admin_persona):
    _log_in(client)
    assert client.get(reverse("dashboard")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@override_settings(**PRODUCTION_HTTPS)
def test_plain_http_is_redirected_to_https_except_the_health_check(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 301 and response["Location"] == "https://testserver/accounts/login/"
    assert client.get(reverse("healthz")).status_code == 200


@override_settings(**PRODUCTION_HTTPS)
def test_behind_the_tls_proxy_pages_carry_hsts(client):
    response = client.get(reverse("accounts:login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
