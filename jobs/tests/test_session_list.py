"""The Sessions page: backup, log and restore sessions in one list, filtered and paged on the server, polling
only while something runs, with confirmed actions for those allowed."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audittrail.models import Entry
from jobs import services
from jobs.models import BackupJob, BackupSession, LogJob, LogSession
from repositories.models import LogRepository, Repository
from restore.models import RestoreSession
from tenants.models import Tenant

NOW = timezone.now()
URL = "/jobs/sessions/"


def _tenant(name):
    return Tenant.objects.create(name=name, directory_id=f"{abs(hash(name))}.example", credential_type="secret",
                                 client_id="11111111-2222-3333-4444-555555555555", credential_updated_at=NOW)


@pytest.fixture
def world(db, monkeypatch):
    """Two tenants with a backup job and a log job each; sessions are added by the tests."""
    monkeypatch.setattr(services, "session_enqueue", lambda session: None)
    repository = Repository.objects.create(name="Local", database="unused_by_this_test")
    log_repository = LogRepository.objects.create(name="Logs", path="/tmp/unused")
    jobs = {}
    for name in ("Alpha", "<b>Beta</b>"):
        tenant = _tenant(name)
        jobs[name] = (BackupJob.objects.create(name=f"{name} job", tenant=tenant, repository=repository),
                      LogJob.objects.create(tenant=tenant, primary=log_repository))
    return jobs


def _backup(job, status="success", ago_minutes=10, seconds=4.4, **fields):
    started = timezone.now() - timedelta(minutes=ago_minutes)
    ended = started + timedelta(seconds=seconds) if status not in ("queued", "running") else None
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status=status, started_at=started,
                                           ended_at=ended, **fields)
    BackupSession.objects.filter(pk=session.pk).update(queued_at=started)
    return session


def _log(job, status="success", ago_minutes=10):
    session = LogSession.objects.create(job=job, tenant=job.tenant, status=status)
    LogSession.objects.filter(pk=session.pk).update(queued_at=NOW - timedelta(minutes=ago_minutes))
    return session


def _ids(body: str) -> list[tuple[str, int]]:
    return [(kind, int(pk)) for kind, pk in re.findall(r'<tr data-kind="(\w+)".*?<a href="[^"]*">(\d+)</a>', body, re.S)]


def test_one_list_of_every_kind_newest_first_filtered_by_tenant_kind_status_and_date(client, admin_persona, world):
    alpha, beta = world["Alpha"], world["<b>Beta</b>"]
    old = _backup(alpha[0], status="failed", ago_minutes=60 * 24 * 3)
    ok = _backup(alpha[0], ago_minutes=30)
    log = _log(beta[1], ago_minutes=20)
    restore = RestoreSession.objects.create(tenant=beta[0].tenant, plan={}, plan_id="p", reason="Put back <i>x</i>")
    client.force_login(admin_persona)
    body = client.get(URL).content.decode()
    assert _ids(body) == [("restore", restore.pk), ("log", log.pk), ("backup", ok.pk), ("backup", old.pk)]
    assert escape("<b>Beta</b>") in body and "<b>Beta</b>" not in body and "<i>x</i>" not in body
    assert _ids(client.get(URL, {"tenant": alpha[0].tenant_id}).content.decode()) == [("backup", ok.pk), ("backup", old.pk)]
    assert _ids(client.get(URL, {"kind": "log"}).content.decode()) == [("log", log.pk)]
    assert _ids(client.get(URL, {"status": "failed"}).content.decode()) == [("backup", old.pk)]
    day = (NOW - timedelta(days=3)).astimezone(timezone.get_current_timezone()).date().isoformat()
    assert _ids(client.get(URL, {"start": day, "end": day}).content.decode()) == [("backup", old.pk)]
    assert "4 s" in body and "0:00:04" not in body


@pytest.mark.parametrize("query, message", [
    ({"status": "exploded"}, "exploded is not a session status"),
    ({"kind": "<script>"}, "Kind: choose backup, log or restore"),
    ({"start": "2026-13-45"}, "From: give a date as YYYY-MM-DD"),
    ({"end": "yesterday"}, "To: give a date as YYYY-MM-DD"),
    ({"start": "2026-02-02", "end": "2026-02-01"}, "The date range ends before it starts"),
    ({"tenant": "abc"}, "Tenant: choose one from the list"),
    ({"before": "not-a-cursor"}, "This page link is damaged"),
    ({"before": "2026-01-01T00:00:00_1"}, "This page link is damaged"),  # no time zone
])
def test_bad_filters_are_a_clear_message_not_a_500(client, admin_persona, world, query, message):
    client.force_login(admin_persona)
    response = client.get(URL, query)
    assert response.status_code == 400 and message in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_keyset_pages_walk_every_session_once_in_order(client, admin_persona, world):
    job = world["Alpha"][0]
    made = [_backup(job, ago_minutes=n) for n in range(1, 121)]
    client.force_login(admin_persona)
    seen, query = [], {}
    while True:
        body = client.get(URL, query).content.decode()
        seen += [pk for _, pk in _ids(body)]
        older = re.search(r'<a href="\?([^"]*)" rel="next">', body)
        if not older:
            break
        query = dict(pair.split("=", 1) for pair in older.group(1).replace("&amp;", "&").split("&"))
        query = {k: v.replace("%3A", ":").replace("%2B", "+") for k, v in query.items()}
    assert seen == [s.pk for s in made] and len(seen) == 120


def test_the_list_polls_while_a_session_runs_with_progress_and_stops_with_286(client, admin_persona, world):
    job = world["Alpha"][0]
    _backup(job, ago_minutes=60, seconds=200)  # the job's last success took 200 s
    running = _backup(job, status="running", ago_minutes=10 / 60, object_types=["user", "group"],
                      stats={"user": {"read": 1}})
    client.force_login(admin_persona)
    page = client.get(URL, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert page.status_code == 200 and 'hx-trigger="every 2s"' in body
    assert "1 running" in body and "50 %" in body and re.search(r"about 3 min \d+ s left", body)
    BackupSession.objects.filter(pk=running.pk).update(status="success", ended_at=timezone.now())
    done = client.get(URL, HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "hx-trigger" not in done.content.decode()


def test_a_viewer_sees_no_actions_and_cannot_post_them(client, viewer_persona, world):
    session = _backup(world["Alpha"][0], status="failed")
    client.force_login(viewer_persona)
    assert "Retry" not in client.get(URL).content.decode()
    assert client.post(reverse("jobs:session_action", args=["backup", session.pk, "retry"])).status_code == 403
    assert BackupSession.objects.count() == 1


def test_cancel_asks_for_confirmation_then_posts_with_csrf(admin_persona, world):
    session = _backup(world["Alpha"][0], status="queued")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_persona)
    url = reverse("jobs:session_action", args=["backup", session.pk, "cancel"])
    confirm = browser.get(url)
    assert confirm.status_code == 200 and "Stop this session?" in confirm.content.decode()
    assert BackupSession.objects.get(pk=session.pk).status == "queued"  # a GET changes nothing
    assert browser.post(url).status_code == 403  # no CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.content.decode()).group(1)
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert BackupSession.objects.get(pk=session.pk).status == "cancelled"
    entry = Entry.objects.get(action="session.cancel")
    assert entry.target == f"backup session {session.pk}" and entry.username == admin_persona.username


def test_retry_and_full_backup_queue_new_sessions_for_operators(client, operator_persona, world):
    failed = _backup(world["Alpha"][0], status="failed", kind="incremental")
    client.force_login(operator_persona)
    client.post(reverse("jobs:session_action", args=["backup", failed.pk, "retry"]))
    retry = BackupSession.objects.get(retry_of=failed)
    assert retry.kind == "incremental" and retry.attempt == 2 and retry.requested_by == operator_persona
    BackupSession.objects.filter(pk=retry.pk).update(status="success")
    client.post(reverse("jobs:session_action", args=["backup", failed.pk, "full"]))
    assert BackupSession.objects.filter(kind="full", status="queued").count() == 1
    asked = Entry.objects.filter(action__in=["session.retry", "session.run_full"]).order_by("pk")
    assert [(e.action, e.username, e.detail["new_session"]) for e in asked] == [
        ("session.retry", operator_persona.username, retry.pk),
        ("session.run_full", operator_persona.username, BackupSession.objects.get(kind="full").pk)]
    again = client.post(reverse("jobs:session_action", args=["backup", failed.pk, "full"]), follow=True)
    assert "wait for it or cancel it" in again.content.decode()  # the tenant is busy: a message, no second one


def test_the_session_detail_reads_as_lines_and_labels(client, admin_persona, world):
    session = _backup(world["Alpha"][0], stats={"servicePrincipal": {"mode": "full", "read": 1200, "new": 3,
                                                                    "relations": {"owners": {"new": 2}}}},
                      log="2026-11-30 10:00:01 Started on proxy p1.\n2026-11-30 10:00:05 <b>done</b>\n")
    client.force_login(admin_persona)
    body = client.get(reverse("jobs:session_detail", args=[session.pk])).content.decode()
    assert "Enterprise applications" in body and "1,200" in body and "owners: 2 new" in body
    assert "<td>2026-11-30 10:00:01</td><td>Started on proxy p1.</td>" in body
    assert escape("<b>done</b>") in body and "{" not in body.split('id="session-log"')[1]
    assert "4 s" in body and "every hour" not in body  # a manual job
