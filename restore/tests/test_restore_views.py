"""Restore plan and session pages: only users with the restore permission, bad input answered clearly."""

import pytest
from django.urls import reverse

from conftest import VIEW, _user_with
from entrabackup import graph
from restore import plan as planner
from restore.models import RestorePlan, RestoreSession
from tenants.services import tenant_create


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.fixture
def restorer_persona(django_user_model):
    """Sees tenants and restore points, and may plan and apply restores."""
    return _user_with(django_user_model, "rita", *VIEW, "restore.run_restore", "restore.explore_logs")


def _plan(tenant) -> RestorePlan:
    body = planner.Planner(planner.State({"user": {}}, {}), planner.State({"user": {}}, {}),
                           planner.Selection(everything=True), planner.Options()).build()
    doc = planner.plan_document(tenant={"key": str(tenant.key), "name": tenant.name,
                                        "directory_id": tenant.directory_id},
                                restore_point={"repository": 1, "id": 1, "committed_at": "2026-11-30T00:00:00+00:00"},
                                selection=planner.Selection(everything=True), options=planner.Options(), body=body)
    return RestorePlan.objects.create(tenant=tenant, plan=doc)


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", [200, 200, 200]), ("restorer_persona", [200, 200, 200]),
    ("viewer_persona", [403, 403, 403]), ("outsider_persona", [403, 403, 403]),
])
def test_role_matrix_for_restore_plan_and_session_pages(client, request, tenant, persona, expected, monkeypatch):
    monkeypatch.setattr("restore.restore_views.tenant_backups", _NoBackups)
    plan = _plan(tenant)
    session = RestoreSession.objects.create(tenant=tenant, plan=plan.plan, plan_id=plan.plan["plan_id"], reason="r")
    client.force_login(request.getfixturevalue(persona))
    urls = [reverse("restore:plan_create", args=[tenant.pk]), reverse("restore:plan_detail", args=[plan.pk]),
            reverse("restore:restore_session_detail", args=[session.pk])]
    assert [client.get(url).status_code for url in urls] == expected


def test_applying_a_plan_needs_a_reason(client, tenant, restorer_persona):
    plan = _plan(tenant)
    client.force_login(restorer_persona)
    page = client.post(reverse("restore:plan_detail", args=[plan.pk]), {"reason": "  "})
    assert page.status_code == 200 and "This field is required" in page.content.decode()
    assert not RestoreSession.objects.exists()


def test_applying_a_plan_with_a_reason_queues_a_session_with_every_step(client, tenant, restorer_persona, monkeypatch):
    monkeypatch.setattr("restore.sessions.restore_session_enqueue", lambda session: None)
    plan = _plan(tenant)
    client.force_login(restorer_persona)
    response = client.post(reverse("restore:plan_detail", args=[plan.pk]), {"reason": "ransomware cleanup"})
    session = RestoreSession.objects.get()
    assert response.status_code == 302 and session.reason == "ransomware cleanup"
    assert session.requested_by == restorer_persona and session.writes.count() == len(plan.plan["steps"])


def test_an_edited_plan_is_refused(client, tenant, restorer_persona):
    plan = _plan(tenant)
    plan.plan["steps"].append({"id": "s99", "op": "delete"})
    plan.save()
    client.force_login(restorer_persona)
    page = client.post(reverse("restore:plan_detail", args=[plan.pk]), {"reason": "x"}).content.decode()
    assert "changed after it was made" in page and not RestoreSession.objects.exists()


def test_plan_form_rejects_bad_ids_with_a_clear_message(client, tenant, restorer_persona, monkeypatch):
    monkeypatch.setattr("restore.restore_views.tenant_backups", _NoBackups)
    client.force_login(restorer_persona)
    page = client.post(reverse("restore:plan_create", args=[tenant.pk]),
                       {"scope": "ids", "ids": "../../etc/passwd", "relations": "merge", "ca_state": "keep"})
    assert page.status_code == 200 and "is not an object id" in page.content.decode()


def test_revert_audit_records_without_records_is_a_400(client, tenant, restorer_persona):
    client.force_login(restorer_persona)
    assert client.post(reverse("restore:plan_from_audit", args=[tenant.pk]), {"audit_ids": ""}).status_code == 400


class _NoBackups:
    """A tenant with no restore point yet (the plan form lists none)."""

    def __init__(self, tenant):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def restore_points(self):
        return []


def test_a_queued_restore_is_cancelled_at_once_and_writes_nothing(client, tenant, restorer_persona):
    plan = _plan(tenant)
    session = RestoreSession.objects.create(tenant=tenant, plan=plan.plan, plan_id=plan.plan["plan_id"], reason="r")
    client.force_login(restorer_persona)
    assert client.post(reverse("restore:restore_session_cancel", args=[session.pk])).status_code == 302
    session.refresh_from_db()
    assert session.status == "cancelled" and "before it started" in session.error
