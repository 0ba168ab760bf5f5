"""The home page tells the truth: each visible tenant's last results, the age of its newest restore point
against its schedule, the changes its restore points recorded, repositories, proxies and charts; in a few
queries whatever the number of tenants."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from jobs.models import BackupJob, BackupSession, LogJob, LogSession, Proxy
from repositories.models import LogRepository, Repository
from tenants.models import Tenant

HOSTILE = "<script>alert('x')</script> & \"Co\""
NOW = timezone.now()


def _tenant(name, **fields):
    return Tenant.objects.create(name=name, directory_id=f"{abs(hash(name))}.example", credential_type="secret",
                                 client_id="11111111-2222-3333-4444-555555555555", credential_updated_at=NOW,
                                 **fields)


@pytest.fixture
def repository(db):
    return Repository.objects.create(name="Local", database="unused_by_this_test", size_bytes=1_200_000)


def _job(tenant, repository, kind="hours", value="1"):
    return BackupJob.objects.create(name=f"{tenant.name} job", tenant=tenant, repository=repository,
                                    schedule_kind=kind, schedule_value=value, created_at=NOW - timedelta(days=30))


def _session(job, *, status="success", ago_hours=1.0, seconds=5, point=None, stats=None, **fields):
    started = NOW - timedelta(hours=ago_hours)
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status=status, started_at=started,
                                           ended_at=started + timedelta(seconds=seconds), restore_point_id=point,
                                           stats=stats or {}, **fields)
    BackupSession.objects.filter(pk=session.pk).update(queued_at=started)  # auto_now_add on create
    return session


def _stats(new, changed, deleted, read=100):
    return {"user": {"mode": "delta", "read": read, "new": new, "changed": changed, "deleted": deleted},
            "group": {"mode": "delta", "read": 3, "new": 1, "changed": 0, "deleted": 0}}


def _row(body: str, tenant) -> str:
    match = re.search(rf'<tr class="[^"]*" data-tenant="{tenant.pk}">(.*?)</tr>', body, re.S)
    assert match, f"no row for {tenant.name}"
    return match.group(1)


def test_home_shows_last_results_and_the_changes_recorded_in_the_database(client, admin_persona, repository):
    healthy, broken = _tenant("Alpha"), _tenant("Beta", check_status="failed")
    job_a, job_b = _job(healthy, repository), _job(broken, repository)
    for n, (new, changed, deleted) in enumerate([(5, 2, 1), (0, 7, 0), (3, 0, 9)]):
        _session(job_a, ago_hours=3 - n, point=100 + n, stats=_stats(new, changed, deleted))
    _session(job_b, ago_hours=0.5, point=200, stats=_stats(1, 1, 1))
    _session(job_b, status="failed", ago_hours=0.2, error="The secret was refused (AADSTS7000215).")
    client.force_login(admin_persona)
    body = client.get(reverse("dashboard")).content.decode()
    for tenant in (healthy, broken):  # what each session stored, summed here from the database
        points = BackupSession.objects.filter(tenant=tenant, restore_point_id__isnull=False).order_by("-queued_at")
        expected = [sum(c["new"] + c["changed"] + c["deleted"] for c in p.stats.values()) for p in points]
        assert " · ".join(map(str, expected)) in _row(body, tenant)
    assert "status-failed" in _row(body, broken) and "Cannot connect" in _row(body, broken)
    assert "status-success" in _row(body, healthy) and "1.2 MB" in _row(body, healthy)
    failed = sum(BackupSession.objects.filter(tenant=t).exclude(status__in=BackupSession.ACTIVE)
                 .order_by("-queued_at").first().status == "failed" for t in Tenant.objects.all())
    assert f'<span id="count-failed">{failed}</span>' in body
    assert f'<span id="count-unreachable">{Tenant.objects.filter(check_status="failed").count()}</span>' in body
    assert "AADSTS7000215" in body  # the recent failure is listed


def test_an_overdue_tenant_shows_red_and_a_fresh_one_does_not(client, admin_persona, repository):
    late, fresh, manual = _tenant("Late"), _tenant("Fresh"), _tenant("Manual")
    _session(_job(late, repository), ago_hours=3, point=1)  # hourly, newest restore point 3 h old
    _session(_job(fresh, repository), ago_hours=0.5, point=2)
    _session(_job(manual, repository, kind="manual", value=""), ago_hours=300, point=3)
    client.force_login(admin_persona)
    body = client.get(reverse("dashboard")).content.decode()
    assert '<td class="overdue">' in _row(body, late) and "overdue since" in _row(body, late)
    assert '<td class="overdue">' not in _row(body, fresh) and '<td class="overdue">' not in _row(body, manual)
    assert "every hour" in _row(body, late)
    assert '<span id="count-overdue">1</span>' in body


def test_hostile_tenant_names_are_escaped_in_the_table_and_the_svg_charts(client, admin_persona, repository):
    tenant = _tenant(HOSTILE)
    job = _job(tenant, repository)
    for n in range(3):
        _session(job, ago_hours=3 - n, point=n + 1, stats=_stats(n, 1, 0), ran_full=n == 0)
    log_repo = LogRepository.objects.create(name="<img src=x onerror=alert(1)>", path="/tmp/unused")
    log_job = LogJob.objects.create(tenant=tenant, primary=log_repo)
    LogSession.objects.create(job=log_job, tenant=tenant, status="success", stats={"audit": {"new": 40}})
    client.force_login(admin_persona)
    body = client.get(reverse("dashboard")).content.decode()
    assert HOSTILE not in body and "<img src=x" not in body
    assert escape(HOSTILE) in _row(body, tenant)
    svg = re.findall(r"<svg.*?</svg>", body, re.S)
    assert len(svg) == 3 and all(escape(HOSTILE) in chart for chart in svg)
    assert "<script" not in "".join(svg)


def test_the_board_refreshes_as_a_fragment_and_bad_paging_is_a_message(client, admin_persona, repository):
    _job(_tenant("Alpha"), repository)
    client.force_login(admin_persona)
    fragment = client.get(reverse("dashboard"), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert 'id="board"' in fragment.content.decode() and "HX-Request" in fragment["Vary"]
    bad = client.get(reverse("dashboard"), {"page": "-1'; DROP"})
    assert bad.status_code == 200 and "Page and chart take a whole number" in bad.content.decode()


def test_proxies_show_their_health_from_heartbeats(client, admin_persona, repository):
    _job(_tenant("Alpha"), repository)
    Proxy.objects.create(name="proxy-live", host="h1", workers=2, heartbeat_at=timezone.now())
    Proxy.objects.create(name="proxy-dead", host="h2", workers=1, heartbeat_at=timezone.now() - timedelta(hours=2))
    client.force_login(admin_persona)
    body = client.get(reverse("dashboard")).content.decode()
    live = body[body.index("proxy-live"):body.index("</li>", body.index("proxy-live"))]
    dead = body[body.index("proxy-dead"):body.index("</li>", body.index("proxy-dead"))]
    assert "healthy" in live and "not reporting" in dead and "2 h" in dead


def test_home_needs_the_same_few_queries_for_three_tenants_as_for_sixty(client, admin_persona, repository):
    client.force_login(admin_persona)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    for n in range(3):
        _session(_job(_tenant(f"T{n:03d}"), repository), point=n + 1, stats=_stats(1, 1, 1))
    few = queries()
    for n in range(3, 60):
        _session(_job(_tenant(f"T{n:03d}"), repository), point=n + 1, stats=_stats(1, 1, 1))
    assert queries() == few <= 20
