"""An error while a credential form is handled leaves no secret in Django's error report (page or e-mail)."""

import secrets

import pytest
from django.core import mail
from django.urls import reverse
from django.views.debug import ExceptionReporter

from entrabackup import graph
from tenants import services
from tenants.models import Tenant

CLIENT = "11111111-2222-3333-4444-555555555555"
# Random, so that the source lines a report shows (this file's) cannot hold them.
SECRET = secrets.token_urlsafe(18)
PFX_PASSWORD = secrets.token_urlsafe(18)


@pytest.fixture
def broken_save(monkeypatch):
    """The configuration database fails at the moment the sealed credential is saved."""
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")
    monkeypatch.setattr(Tenant, "save", fail)


def error_reports(client, url, data, settings) -> list[str]:
    """Post `data`, which fails with a 500; return the technical report (HTML and text) and the e-mail."""
    settings.ADMINS = [("Ops", "ops@example.org")]
    client.raise_request_exception = False
    response = client.post(url, data)
    assert response.status_code == 500
    reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
    reports = [reporter.get_traceback_html(), reporter.get_traceback_text()]
    assert "database went away" in reports[1]
    assert "client_secret" in reports[1] and "********" in reports[1]  # the parameter is there, hidden
    reports += [message.body for message in mail.outbox]
    assert len(reports) == 3
    return reports


def test_registering_a_tenant_that_fails_reports_no_secret(client, operator_persona, broken_save, settings):
    client.force_login(operator_persona)
    reports = error_reports(client, reverse("tenants:tenant_add"), {
        "name": "X", "directory_id": "x.example", "client_id": CLIENT, "cloud": "global", "credential_kind": "secret",
        "client_secret": SECRET, "certificate_password": PFX_PASSWORD,
    }, settings)
    assert not [report for report in reports if SECRET in report or PFX_PASSWORD in report]


@pytest.mark.parametrize("view", ["tenants:tenant_credential", "tenants:tenant_connection"])
def test_replacing_a_credential_or_a_connection_that_fails_reports_no_secret(client, operator_persona, settings,
                                                                             monkeypatch, view):
    tenant = services.tenant_create(name="C", directory_id="c.example", client_id=CLIENT,
                                    credential=graph.ClientSecret("old-secret"))
    monkeypatch.setattr(Tenant, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("database went away")))
    client.force_login(operator_persona)
    reports = error_reports(client, reverse(view, args=[tenant.pk]), {
        "directory_id": "c.example", "cloud": "global", "credential_kind": "secret", "client_secret": SECRET,
        "certificate_password": PFX_PASSWORD,
    }, settings)
    assert not [report for report in reports if SECRET in report or PFX_PASSWORD in report]


def test_an_uploaded_certificate_key_is_not_in_the_report(client, operator_persona, broken_save, settings):
    generated = graph.generate_self_signed("report test")
    upload = (generated.private_key_pem + generated.certificate_pem).encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(operator_persona)
    settings.ADMINS = [("Ops", "ops@example.org")]
    client.raise_request_exception = False
    response = client.post(reverse("tenants:tenant_add"), {
        "name": "X", "directory_id": "x.example", "client_id": CLIENT, "cloud": "global",
        "credential_kind": "certificate", "certificate_file": SimpleUploadedFile("c.pem", upload),
    })
    reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
    reports = [reporter.get_traceback_html(), reporter.get_traceback_text(), *[m.body for m in mail.outbox]]
    key_line = generated.private_key_pem.splitlines()[1]
    assert "database went away" in reports[1]
    assert not [report for report in reports if key_line in report]
