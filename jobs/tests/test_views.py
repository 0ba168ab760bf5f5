"""Jobs and sessions pages: who may do what; live session status over htmx."""

import pytest
from django.urls import reverse

from entrabackup import graph
from jobs import services
from jobs.models import BackupJob, BackupSession
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def job(db, clean_repository_database, monkeypatch):
    monkeypatch.setattr(services, "session_enqueue", lambda session: None)
    tenant = tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT, credential=graph.ClientSecret("s"))
    return services.job_create(tenant=tenant)


def _get(client, user, url):
    client.force_login(user)
    return client.get(url).status_code


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", [200, 200, 200, 200]), ("operator_persona", [200, 200, 200, 200]),
    ("viewer_persona", [200, 403, 200, 200]), ("outsider_persona", [403, 403, 403, 403]),
])
def test_role_matrix_for_job_and_session_pages(client, request, job, persona, expected):
    session = BackupSession.objects.create(job=job, tenant=job.tenant)
    urls = [reverse("jobs:job_list"), reverse("jobs:job_add"), reverse("jobs:session_list"),
            reverse("jobs:session_detail", args=[session.pk])]
    user = request.getfixturevalue(persona)
    assert [_get(client, user, url) for url in urls] == expected


@pytest.mark.django_db(transaction=True)
def test_run_now_queues_a_session_for_operators_only(client, job, viewer_persona, operator_persona):
    client.force_login(viewer_persona)
    assert client.post(reverse("jobs:job_run", args=[job.pk])).status_code == 403
    client.force_login(operator_persona)
    response = client.post(reverse("jobs:job_run", args=[job.pk]))
    session = BackupSession.objects.get(job=job)
    assert response["Location"] == reverse("jobs:session_detail", args=[session.pk])
    assert session.requested_by == operator_persona and session.status == "queued"


def test_running_session_status_polls_and_stops_with_286_when_finished(client, job, admin_persona):
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status="running", progress={"current": "user"})
    client.force_login(admin_persona)
    url = reverse("jobs:session_detail", args=[session.pk])
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert running.status_code == 200 and 'hx-trigger="every 2s"' in running.content.decode()
    assert "Reading Users" in running.content.decode()
    BackupSession.objects.filter(pk=session.pk).update(status="success", restore_point_id=7)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "hx-trigger" not in done.content.decode()
    assert "restore point <strong>7</strong>" in done.content.decode()


def test_job_form_rejects_a_malformed_schedule(client, job, operator_persona):
    client.force_login(operator_persona)
    response = client.post(reverse("jobs:job_add"), {
        "tenant": job.tenant.pk, "schedule_kind": "daily", "schedule_value": "25:99", "full_every_days": 7})
    assert "give the time as HH:MM" in response.content.decode()
    assert BackupJob.objects.count() == 1
