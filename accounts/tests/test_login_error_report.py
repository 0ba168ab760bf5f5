"""A login that fails with an error leaves no password in the error report (Django's LoginView and the
admin's login are wrapped in `sensitive_post_parameters`)."""

import logging

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter

from accounts.models import User

SECRET = "Tr0ub4dor&3-never-in-a-report"


def _explode(self, raw_password):
    raise RuntimeError("the password hasher is broken")


@pytest.mark.django_db
@override_settings(ADMINS=[("Operations", "ops@example.org")])
@pytest.mark.parametrize("page", ["accounts:login", "admin:login"])
def test_error_report_of_a_failing_login_carries_no_password(admin_persona, monkeypatch, caplog, page):
    monkeypatch.setattr(User, "check_password", _explode)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).post(
            reverse(page), {"username": "alice", "password": SECRET})
    assert response.status_code == 500
    (report,) = mail.outbox  # the report Django mails to ADMINS
    assert "RuntimeError" in report.body and reverse(page) in report.body
    assert SECRET not in report.body
    assert "password = '********************'" in report.body
    # The HTML report also lists every frame's local variables.
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    html = ExceptionReporter(record.request, *record.exc_info, is_email=True).get_traceback_html()
    assert "the password hasher is broken" in html
    assert SECRET not in html
