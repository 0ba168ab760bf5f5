"""Every list other than the sessions, the audit trail and the approvals pages and filters on the server
(entrabackup/paging.py): a user limited to some tenants sees only their rows on every page, the counts are the
real ones, a bad parameter is a message over the unfiltered list (400, no traceback), and an HTMX request gets
the table alone. Restore points page by keyset across the tenant's repositories."""

import re
from datetime import timedelta

import psycopg
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import role_assign
from jobs.models import BackupJob, LogJob
from repositories.models import LogRepository, Repository
from repositories.services import repository_conninfo, repository_default, repository_store
from tenants.models import Tenant

NOW = timezone.now()
HOSTILE = '<script>alert("x")</script>'


def _tenant(name, **fields):
    return Tenant.objects.create(name=name, directory_id=f"{abs(hash(name))}.example", credential_type="secret",
                                 client_id="11111111-2222-3333-4444-555555555555", credential_updated_at=NOW, **fields)


def _points(repository, tenant, count: int) -> list[int]:
    """`count` committed restore points of `tenant`, one an hour up to now, alternately full and incremental."""
    with repository_store(repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
    with psycopg.connect(repository_conninfo(repository)) as conn:
        rows = conn.execute(
            "INSERT INTO restore_point (tenant_id, session_key, kind, state, started_at, committed_at)"
            " SELECT t.id, %s || n, CASE WHEN n %% 2 = 0 THEN 'full' ELSE 'incremental' END, 'committed',"
            " now() - (%s - n) * interval '1 hour', now() - (%s - n) * interval '1 hour' + interval '1 minute'"
            " FROM tenant t, generate_series(1, %s) n WHERE t.key = %s RETURNING id",
            [f"list-{tenant.pk}-", count, count, count, str(tenant.key)]).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def world(clean_repository_database, db):
    """55 tenants of side A (one with a hostile name, some disabled), 3 of side B; a job and a log job each;
    120 restore points for A's first tenant, 7 for B's first; an administrator limited to side A."""
    repository = repository_default()
    Repository.objects.create(name=f"Remote {HOSTILE}", kind="remote", host="db.example", database="r",
                              user="u", enabled=False)
    logs = LogRepository.objects.create(name="Logs", path="/tmp/unused")
    a = [_tenant(f"QWA tenant {n:02d}" if n else f"QWA {HOSTILE}", enabled=n % 5 != 4) for n in range(55)]
    b = [_tenant(f"ZQX tenant {n}") for n in range(3)]
    for tenant in a + b:
        BackupJob.objects.create(name=f"{tenant.name} job", tenant=tenant, repository=repository,
                                 enabled=tenant.enabled)
        LogJob.objects.create(tenant=tenant, primary=logs, enabled=tenant.enabled)
    user = User.objects.create_user(username="admin-a", password="pw-for-tests-only")
    role_assign(user=user, role="administrator", tenants=a)
    client = Client()
    client.force_login(user)
    return {"a": a, "b": b, "client": client, "points_a": _points(repository, a[0], 120),
            "points_b": _points(repository, b[0], 7), "repository": repository}


def _walk(client, url: str, pages: int = 10) -> tuple[list[str], list[str]]:
    """Follow a list's "next" links from `url`: (the bodies, the pager texts)."""
    bodies = []
    while url and len(bodies) < pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        bodies.append(body)
        found = re.search(r'<a href="(\?[^"]*)" rel="next"', body)
        url = url.split("?")[0] + found.group(1).replace("&amp;", "&") if found else None
    return bodies, [re.sub(r"\s+", " ", m) for body in bodies for m in re.findall(r'<nav class="pager".*?</nav>', body, re.S)]


def test_every_list_pages_through_the_users_tenants_only(world):
    client = world["client"]
    names_a = {t.name for t in world["a"]}
    lists = {"/tenants/": "{}", "/jobs/": "{} job", "/jobs/logs/": "{}", "/restore/": "{}", "/restore/logs/": "{}"}
    for url, shown in lists.items():
        bodies, pagers = _walk(client, url)
        assert len(bodies) == 2, url  # 55 rows, 50 a page
        assert "1–50 of 55" in pagers[0] and "51–55 of 55" in pagers[1], (url, pagers)
        text = "".join(bodies)
        assert "ZQX" not in text, url
        for name in names_a - {f"QWA {HOSTILE}"}:
            assert shown.format(name) in text, (url, name)
        assert HOSTILE not in text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text, url

    bodies, _ = _walk(client, f"/restore/tenants/{world['a'][0].pk}/points/")
    ids = [int(i) for body in bodies for i in re.findall(r"<tr>\s*<td>(\d+)</td>", body)]
    assert len(bodies) == 3 and "120 restore points, newest first" in bodies[0]
    assert ids == sorted(world["points_a"], reverse=True)  # every point once, newest first, none of B's
    assert f"Changes since {ids[-1]}" in bodies[-1] and "first restore point" in bodies[-1]


def test_filters_narrow_each_list_and_count_what_they_show(world):
    client, a = world["client"], world["a"]
    body = client.get("/tenants/?state=no").content.decode()
    assert "1–11 of 11" in body and "QWA tenant 04" in body and "QWA tenant 05" not in body
    body = client.get("/tenants/?q=tenant+1&status=never").content.decode()
    assert "1–10 of 10" in body and "QWA tenant 19" in body
    body = client.get(f"/jobs/?tenant={a[3].pk}").content.decode()
    assert "1–1 of 1" in body and "QWA tenant 03 job" in body
    body = client.get("/jobs/?q=TENANT+2&state=yes").content.decode()
    assert "1–8 of 8" in body and "QWA tenant 24 job" not in body  # 24 and 29 are disabled
    body = client.get(f"/jobs/logs/?tenant={a[7].pk}").content.decode()
    assert "1–1 of 1" in body and "QWA tenant 07" in body
    body = client.get("/repositories/?q=remote").content.decode()
    assert "Remote &lt;script&gt;" in body and "1–1 of 1" in body and "No log repository matches" in body
    body = client.get("/restore/logs/?q=qwa+tenant+5").content.decode()
    assert "1–5 of 5" in body and "QWA tenant 54" in body
    points = f"/restore/tenants/{a[0].pk}/points/"
    bodies, _ = _walk(client, points + "?kind=full")
    assert "60 restore points match" in bodies[0] and len(bodies) == 2
    assert all("<td>Full</td>" in b and "<td>Incremental</td>" not in b for b in bodies)
    day = (timezone.localtime() - timedelta(hours=30)).date().isoformat()
    body = client.get(points + f"?start={day}&end={day}").content.decode()
    assert "restore points match" in body


BAD = [
    ("/tenants/?page=abc", "Page: give a page number (1, 2, ...)."),
    ("/tenants/?page=0", "Page: pages are numbered from 1."),
    ("/tenants/?status=%3Cb%3Ebogus", "Connection: &lt;b&gt;bogus is not a connection status."),
    ("/jobs/?state=maybe&q=QWA+tenant+01", "State: choose enabled or disabled (got maybe)."),
    ("/jobs/?tenant={b}", "Tenant: choose one from the list."),  # another tenant's id: as unknown as a bad one
    ("/jobs/logs/?tenant=x", "Tenant: choose one from the list."),
    ("/repositories/?log_page=-1", "Log repositories page: pages are numbered from 1."),
    ("/restore/?page=99999999", "Page: no list has that many pages."),
    ("/restore/tenants/{a}/points/?after=2026-01-01_x", "This page link is damaged"),
    ("/restore/tenants/{a}/points/?start=2026-02-01&end=2026-01-01", "The date range ends before it starts."),
    ("/restore/tenants/{a}/points/?kind=differential", "Kind: choose full or incremental (got differential)."),
]


def test_a_bad_parameter_is_a_message_over_the_unfiltered_list(world):
    for url, message in BAD:
        response = world["client"].get(url.format(a=world["a"][0].pk, b=world["b"][0].pk))
        body = response.content.decode()
        assert response.status_code == 400 and message in body and "Traceback" not in body, url
        assert "ZQX" not in body, url
        assert "1–50 of 55" in body or "1–2 of 2" in body or "120 restore points" in body, url  # unfiltered
    body = world["client"].get("/jobs/?state=maybe&q=QWA").content.decode()
    assert '<a href="?page=2" rel="next"' in body  # the pager of the unfiltered list drops the bad filters


def test_a_page_past_the_end_shows_the_last_and_htmx_gets_the_table_alone(world):
    client = world["client"]
    assert "51–55 of 55" in client.get("/tenants/?page=7").content.decode()
    response = client.get("/jobs/?q=tenant+0", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="job-table">') and "<html" not in body
    assert "1–9 of 9" in body and "HX-Request" in response["Vary"]
    response = client.get("/tenants/?page=x", headers={"HX-Request": "true"})  # htmx swaps only a 200 in
    assert response.status_code == 200 and "Page: give a page number" in response.content.decode()
    restored = client.get("/tenants/?q=QWA", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored.content.decode()  # a pushed address restored by htmx is the whole page
    page = client.get("/tenants/").content.decode()
    assert 'hx-get="/tenants/" hx-target="#tenant-table"' in page and 'id="tenant-table"' in page


def test_another_tenants_restore_points_are_not_listed(world):
    response = world["client"].get(f"/restore/tenants/{world['b'][0].pk}/points/")
    assert response.status_code == 404 and "ZQX" not in response.content.decode()
