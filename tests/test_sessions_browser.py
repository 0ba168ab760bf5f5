"""In a browser: the Sessions page refreshes itself while a session runs, and stops asking once none does."""

import time

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import BackupJob, BackupSession
from repositories.models import Repository
from tenants.models import Tenant


@pytest.mark.django_db(transaction=True)
def test_sessions_list_refreshes_while_a_session_runs_and_stops_polling_after(live_server, page, client,
                                                                               admin_persona):
    tenant = Tenant.objects.create(name="Contoso", directory_id="contoso.example", credential_type="secret",
                                   client_id="11111111-2222-3333-4444-555555555555",
                                   credential_updated_at=timezone.now())
    job = BackupJob.objects.create(name="Contoso job", tenant=tenant,
                                   repository=Repository.objects.create(name="Local", database="unused"))
    session = BackupSession.objects.create(job=job, tenant=tenant, status="running", started_at=timezone.now())
    client.force_login(admin_persona)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    polls = []
    page.on("request", lambda r: polls.append(time.monotonic()) if r.headers.get("hx-request") else None)
    page.goto(f"{live_server.url}/jobs/sessions/")
    page.wait_for_selector('#session-table[data-polling="yes"] tr[data-status="running"]')
    page.wait_for_function("document.querySelector('#overall') !== null")
    BackupSession.objects.filter(pk=session.pk).update(status="success", ended_at=timezone.now())
    page.wait_for_selector('tr[data-status="success"]', timeout=6_000)  # the next poll shows it, unreloaded
    assert page.locator("#overall").count() == 0
    stopped = len(polls)
    assert stopped >= 1
    page.wait_for_timeout(4_500)  # two polling periods: nothing more is asked
    assert len(polls) == stopped
