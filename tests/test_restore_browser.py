"""A restore operator reviews a plan as a diff in a real browser, applies it with a reason, and watches the
session's progress change without reloading (htmx polling)."""

import pytest

from conftest import ADMIN_PASSWORD, VIEW, _user_with
from entrabackup import graph
from restore import plan as planner
from restore.models import RestorePlan, RestoreSession
from tenants.services import tenant_create

U1 = "11111111-1111-1111-1111-111111111111"
HOSTILE = '"><script>window.pwned=1</script>'


def _plan(tenant) -> RestorePlan:
    then = planner.State({"user": {U1: {"id": U1, "displayName": HOSTILE, "jobTitle": "Engineer"}}}, {})
    now = planner.State({"user": {U1: {"id": U1, "displayName": HOSTILE, "jobTitle": "Owned"}}}, {})
    body = planner.Planner(then, now, planner.Selection(ids=(U1,)), planner.Options()).build()
    doc = planner.plan_document(tenant={"key": str(tenant.key), "name": tenant.name, "directory_id": tenant.directory_id},
                                restore_point={"repository": 1, "id": 7, "committed_at": "2026-11-30T00:00:00+00:00"},
                                selection=planner.Selection(ids=(U1,)), options=planner.Options(), body=body)
    return RestorePlan.objects.create(tenant=tenant, plan=doc)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_restore_operator_reviews_applies_and_watches_a_restore(live_server, page, django_user_model, monkeypatch):
    monkeypatch.setattr("restore.sessions.restore_session_enqueue", lambda session: None)  # no proxy here
    _user_with(django_user_model, "rita", *VIEW, "restore.run_restore")
    tenant = tenant_create(name="Contoso", directory_id="contoso.example",
                           client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))
    plan = _plan(tenant)
    page.goto(f"{live_server.url}/accounts/login/?next=/restore/plans/{plan.pk}/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    steps = page.locator("#plan-steps")
    assert "jobTitle: Owned" in steps.inner_text() and "jobTitle: Engineer" in steps.inner_text()
    assert HOSTILE in steps.inner_text() and page.evaluate("window.pwned") is None  # tenant data shown as text
    assert "read-only" not in page.locator("#plan-skipped").inner_text()

    page.fill("#id_reason", "ticket 42: a user's title was changed")
    page.click("#apply-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/restore/sessions/*/")
    session = RestoreSession.objects.get()
    assert session.reason == "ticket 42: a user's title was changed"
    assert "Queued" in page.locator(f"#restore-session-{session.pk}-status").inner_text()

    # What a proxy does while the page stays open: progress, then the end.
    RestoreSession.objects.filter(pk=session.pk).update(status="running", progress={"done": 1, "total": 1, "requests": 1})
    page.wait_for_function(f"document.querySelector('#restore-session-{session.pk}-status').innerText.includes('Running')")
    session.writes.update(status="done", http_status=204)
    RestoreSession.objects.filter(pk=session.pk).update(status="success")
    page.wait_for_function(f"document.querySelector('#restore-session-{session.pk}-status').innerText.includes('Success')")
    assert "HTTP 204" in page.locator(f"#restore-session-{session.pk}-status").inner_text()
