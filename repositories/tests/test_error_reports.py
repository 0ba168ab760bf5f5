"""An error while a repository form is handled leaves no password in Django's error report (page or e-mail)."""

import secrets

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django.views.debug import ExceptionReporter

from entrabackup import localdb
from repositories import services
from repositories.models import Repository

# Random, so that the source lines a report shows (this file's) cannot hold it.
PASSWORD = secrets.token_urlsafe(18)


def _fail(*args, **kwargs):
    raise RuntimeError("server went away")


@pytest.fixture
def broken_prepare(monkeypatch):
    """The database fails while it is being prepared, after the password was sealed."""
    monkeypatch.setattr(services, "repository_prepare", _fail)


def _reports(client, url, data, settings) -> list[str]:
    settings.ADMINS = [("Ops", "ops@example.org")]
    client.raise_request_exception = False
    response = client.post(url, data)
    assert response.status_code == 500
    reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
    reports = [reporter.get_traceback_html(), reporter.get_traceback_text(), *[m.body for m in mail.outbox]]
    assert "server went away" in reports[1] and "password" in reports[1] and len(reports) == 3
    return reports


def test_adding_a_repository_that_fails_reports_no_password(client, admin_persona, broken_prepare, settings):
    client.force_login(admin_persona)
    reports = _reports(client, reverse("repositories:repository_add"), {
        "name": "R", "kind": "remote", "database": "d", "host": "db.example.org", "port": 5432, "user": "u",
        "password": PASSWORD, "sslmode": "verify-full"}, settings)
    assert not [report for report in reports if PASSWORD in report]


def test_changing_a_connection_that_fails_reports_no_password(client, admin_persona, settings, monkeypatch, db):
    server = localdb.ensure_running(django_settings.LOCALDB_PGDATA)
    repository = Repository.objects.create(name="R", kind="remote", host=str(server.socket_dir), database="d",
                                           user="u", sslmode="disable")
    monkeypatch.setattr(services, "repository_prepare", _fail)
    client.force_login(admin_persona)
    reports = _reports(client, reverse("repositories:repository_connection", args=[repository.pk]), {
        "database": "d2", "host": "db.example.org", "port": 5432, "user": "u", "password": PASSWORD,
        "sslmode": "verify-full"}, settings)
    assert not [report for report in reports if PASSWORD in report]
