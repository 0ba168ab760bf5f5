"""Four-eyes approval: a second administrator approves through the pages or the commands, never the requester;
requests expire; a stale request is refused; a large restore waits, then is queued once approved."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.services import role_assign
from approvals import services
from approvals.actions import restore_apply, retention_change
from approvals.errors import NotAnAdministratorError, RequestClosedError, SelfApprovalError, StaleRequestError
from approvals.gate import gate, register
from approvals.models import Action, ApprovalRequest, ApprovalSwitch
from approvals.selectors import approvals_visible_to
from audittrail.models import Entry
from conftest import ADMIN_PASSWORD, VIEW, _user_with
from entrabackup import graph
from jobs.models import BackupJob
from jobs.services import job_create
from repositories.log_services import log_repository_add, log_repository_backend
from repositories.logstore import LogRepository as LogStore
from restore import plan as planner
from restore.models import RestorePlan, RestoreSession
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status
DONE = []  # what the test executor ran


@pytest.fixture
def bob(django_user_model):
    """A second administrator."""
    return django_user_model.objects.create_superuser(username="bob", email="", password=ADMIN_PASSWORD)


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.fixture
def switched_on():
    def on(action, **fields):
        ApprovalSwitch.objects.filter(action=action).update(enabled=True, **fields)
    return on


@pytest.fixture
def recorder():
    """An executor for retention.lower that records its runs (the real ones come with the job pages)."""
    DONE.clear()
    state = {"retention": 30}

    def run(params, approval):
        DONE.append((params["days"], approval.decided_by.username))
        return f"Retention lowered to {params['days']} days."

    register(Action.RETENTION_LOWER, run, kind="test", state=lambda params: str(state["retention"]),
             describe=lambda params: [("Job", "nightly"), ("Keep", f"{params['days']} days")])
    return state


def _ask(user, days=7):
    return gate(Action.RETENTION_LOWER, user=user, summary="Keep nightly's restore points 7 days",
                params={"kind": "test", "days": days})


def test_gate_is_off_by_default_and_the_caller_goes_ahead(admin_persona, recorder):
    assert ApprovalSwitch.objects.count() == len(Action.values)  # created off by the migration
    assert _ask(admin_persona) is None and not ApprovalRequest.objects.exists()


def test_two_administrators_through_the_pages(client, admin_persona, bob, recorder, switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    assert request.status == Status.PENDING and _ask(admin_persona) == request  # asking twice: one request
    client.force_login(admin_persona)
    listing = client.get(reverse("approvals:approval_list")).content.decode()
    assert "Keep nightly&#x27;s restore points 7 days" in listing and "Keep: 7 days" in listing and "alice" in listing
    own = client.get(reverse("approvals:approval_detail", args=[request.pk])).content.decode()
    assert "cannot approve your own request" in own and "Approve and run" not in own
    # The service refuses the requester even when the page's button is bypassed.
    client.post(reverse("approvals:approval_approve", args=[request.pk]), {"note": ""})
    assert ApprovalRequest.objects.get().status == Status.PENDING and not DONE
    client.force_login(bob)
    assert "Approve and run" in client.get(reverse("approvals:approval_detail", args=[request.pk])).content.decode()
    response = client.post(reverse("approvals:approval_approve", args=[request.pk]), {"note": "agreed"}, follow=True)
    assert "Retention lowered to 7 days." in response.content.decode()
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.note) == (Status.DONE, bob, "agreed")
    # Approving again does not run it twice.
    again = client.post(reverse("approvals:approval_approve", args=[request.pk]), {}, follow=True).content.decode()
    assert "approved and done already" in again and DONE == [(7, "bob")]


def test_self_approval_is_refused_by_the_service_and_the_command(admin_persona, bob, recorder, switched_on, capsys):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    with pytest.raises(SelfApprovalError):
        services.approval_approve(approval_id=request.pk, user=admin_persona)
    with pytest.raises(CommandError, match="is yours: another administrator must decide it"):
        call_command("approval_approve", "--id", str(request.pk))  # runs as the local administrator: alice
    call_command("approval_list")
    assert f"#{request.pk}\tWaiting for approval\tretention.lower" in capsys.readouterr().out
    call_command("approval_approve", "--id", str(request.pk), "--as", "bob")
    assert f"Request {request.pk} approved: Retention lowered to 7 days." in capsys.readouterr().out
    assert DONE == [(7, "bob")]


def test_deny_through_the_command_runs_nothing(admin_persona, bob, recorder, switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(bob)
    call_command("approval_deny", "--id", str(request.pk), note="not now")  # alice, the local administrator
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.note) == (Status.DENIED, admin_persona, "not now")
    with pytest.raises(RequestClosedError):
        services.approval_approve(approval_id=request.pk, user=admin_persona)
    assert not DONE


def test_a_user_who_is_not_an_administrator_cannot_decide(client, admin_persona, operator_persona, recorder,
                                                           switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    client.force_login(operator_persona)
    assert client.get(reverse("approvals:approval_detail", args=[request.pk])).status_code == 404
    with pytest.raises(CommandError, match="olga is not an administrator"):
        call_command("approval_approve", "--id", str(request.pk), "--as", "olga")
    assert ApprovalRequest.objects.get().status == Status.PENDING


def test_a_request_expires(admin_persona, bob, recorder, switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    ApprovalRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(RequestClosedError, match="expired"):
        services.approval_approve(approval_id=request.pk, user=bob)
    assert ApprovalRequest.objects.get().status == Status.EXPIRED and not DONE
    assert _ask(admin_persona).pk != request.pk  # asking again makes a new request


def test_a_stale_request_is_refused(admin_persona, bob, recorder, switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    recorder["retention"] = 60  # the job was edited meanwhile
    with pytest.raises(StaleRequestError, match="changed after it was made"):
        services.approval_approve(approval_id=request.pk, user=bob)
    assert ApprovalRequest.objects.get().status == Status.STALE and not DONE


def test_turning_a_switch_off_waits_for_a_second_administrator(client, admin_persona, bob):
    client.force_login(admin_persona)
    url = reverse("approvals:switch_list")
    client.post(url, {"action": Action.REPOSITORY_DELETE, "enabled": "on"})  # turning on applies at once
    assert ApprovalSwitch.objects.get(action=Action.REPOSITORY_DELETE).enabled
    page = client.post(url, {"action": Action.REPOSITORY_DELETE}, follow=True).content.decode()
    assert "Waiting for a second administrator" in page
    assert ApprovalSwitch.objects.get(action=Action.REPOSITORY_DELETE).enabled
    request = ApprovalRequest.objects.get(action="approval.switch_change")
    services.approval_approve(approval_id=request.pk, user=bob)
    assert not ApprovalSwitch.objects.get(action=Action.REPOSITORY_DELETE).enabled


def test_the_switch_page_is_for_administrators(client, admin_persona, operator_persona):
    client.force_login(operator_persona)
    page = client.post(reverse("approvals:switch_list"), {"action": Action.REPOSITORY_DELETE, "enabled": "on"},
                       follow=True).content.decode()
    assert "olga is not an administrator" in page
    assert not ApprovalSwitch.objects.get(action=Action.REPOSITORY_DELETE).enabled


# -- a restore above the configured size ---------------------------------------------------------------------

def _plan(tenant, users: int) -> RestorePlan:
    backup = planner.State({"user": {f"u{i}": {"id": f"u{i}", "displayName": f"User {i}"} for i in range(users)}}, {})
    body = planner.Planner(backup, planner.State({"user": {}}, {}), planner.Selection(everything=True),
                           planner.Options()).build()
    doc = planner.plan_document(tenant={"key": str(tenant.key), "name": tenant.name,
                                        "directory_id": tenant.directory_id},
                                restore_point={"repository": 1, "id": 1, "committed_at": "2026-11-30T00:00:00+00:00"},
                                selection=planner.Selection(everything=True), options=planner.Options(), body=body)
    return RestorePlan.objects.create(tenant=tenant, plan=doc)


@pytest.fixture
def rita(django_user_model):
    return _user_with(django_user_model, "rita", *VIEW, "restore.run_restore")


def test_a_restore_above_the_size_waits_then_is_queued_once_approved(client, tenant, rita, bob, switched_on,
                                                                      monkeypatch):
    monkeypatch.setattr("restore.sessions.restore_session_enqueue", lambda session: None)
    switched_on(Action.RESTORE_APPLY_LARGE, min_writes=3)
    small, large = _plan(tenant, 2), _plan(tenant, 5)
    assert len(small.plan["steps"]) < 3 <= len(large.plan["steps"])
    client.force_login(rita)
    response = client.post(reverse("restore:plan_detail", args=[large.pk]), {"reason": "mass deletion"})
    request = ApprovalRequest.objects.get()
    assert response["Location"] == reverse("approvals:approval_detail", args=[request.pk])
    assert not RestoreSession.objects.exists() and request.tenant == tenant
    client.force_login(bob)
    client.post(reverse("approvals:approval_approve", args=[request.pk]), {"note": ""})
    session = RestoreSession.objects.get()
    assert (session.plan_id, session.requested_by, session.reason) == (large.plan["plan_id"], rita, "mass deletion")
    assert session.writes.count() == len(large.plan["steps"])
    assert ApprovalRequest.objects.get().result == f"Restore session {session.pk} queued for tenant Contoso."
    # Below the size, the restore is queued at once.
    session.status = RestoreSession.Status.SUCCESS
    session.save()
    client.force_login(rita)
    client.post(reverse("restore:plan_detail", args=[small.pk]), {"reason": "one user"})
    assert RestoreSession.objects.count() == 2 and ApprovalRequest.objects.count() == 1


def test_the_restore_command_waits_for_approval_above_the_size(tenant, admin_persona, bob, switched_on, tmp_path,
                                                               capsys, monkeypatch):
    monkeypatch.setattr("restore.sessions.restore_session_enqueue", lambda session: None)
    switched_on(Action.RESTORE_APPLY_LARGE, min_writes=1)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_plan(tenant, 3).plan))
    call_command("restore_apply", str(path), reason="drill")
    out = capsys.readouterr().out
    request = ApprovalRequest.objects.get()
    assert f"waits for a second administrator: approval request {request.pk}" in out
    assert not RestoreSession.objects.exists() and request.requested_by == admin_persona
    with pytest.raises(CommandError, match="Nothing was written yet"):
        call_command("restore_apply", str(path), reason="drill", wait=True)
    call_command("approval_approve", "--id", str(request.pk), "--as", "bob")
    assert RestoreSession.objects.get().requested_by == admin_persona


def test_an_administrator_of_another_tenant_cannot_decide(tenant, rita, switched_on, django_user_model, monkeypatch):
    monkeypatch.setattr("restore.sessions.restore_session_enqueue", lambda session: None)
    other = tenant_create(name="Fabrikam", directory_id="fabrikam.example",
                          client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))
    admin_a, admin_b = (django_user_model.objects.create_user(username=name, password=ADMIN_PASSWORD)
                        for name in ("ada", "bea"))
    role_assign(user=admin_a, role=Role.ADMINISTRATOR, tenants=[tenant])
    role_assign(user=admin_b, role=Role.ADMINISTRATOR, tenants=[other])
    switched_on(Action.RESTORE_APPLY_LARGE, min_writes=1)
    request = restore_apply(tenant=tenant, plan=_plan(tenant, 2).plan, reason="drill", user=rita)
    assert not approvals_visible_to(admin_b).exists()
    with pytest.raises(NotAnAdministratorError, match="bea is not an administrator of tenant Contoso"):
        services.approval_approve(approval_id=request.pk, user=admin_b)
    assert services.approval_approve(approval_id=request.pk, user=admin_a).status == Status.DONE
    with pytest.raises(NotAnAdministratorError):  # switches are for administrators of every tenant
        services.switch_set(action=Action.RESTORE_APPLY_LARGE, enabled=False, user=admin_a)


def test_the_audit_trail_records_request_refusal_grant_and_execution(admin_persona, bob, recorder, switched_on):
    switched_on(Action.RETENTION_LOWER)
    request = _ask(admin_persona)
    with pytest.raises(SelfApprovalError):
        services.approval_approve(approval_id=request.pk, user=admin_persona)
    services.approval_approve(approval_id=request.pk, user=bob)
    trail = list(Entry.objects.filter(action__startswith="approval.").order_by("id")
                 .values_list("action", "username", "result"))
    assert trail == [("approval.request", "alice", "pending"), ("approval.grant", "alice", "denied"),
                     ("approval.grant", "bob", "ok"), ("approval.execute", "bob", "ok")]


def test_lowering_a_jobs_retention_waits_and_raising_it_does_not(tenant, admin_persona, bob, switched_on):
    job = job_create(tenant=tenant, retention_days=30)
    switched_on(Action.RETENTION_LOWER)
    assert retention_change(target=job, values={"retention_days": 60}, user=admin_persona) is None
    request = retention_change(target=job, values={"retention_days": 7, "retention_points": 3}, user=admin_persona)
    assert dict(services.params_described(request)) == {"Job": str(job), "Retention days": "30 -> 7",
                                                        "Retention points": "unlimited -> 3"}
    services.approval_approve(approval_id=request.pk, user=bob)
    job.refresh_from_db()
    assert (job.retention_days, job.retention_points) == (7, 3)


def test_an_encryption_password_change_waits_sealed_then_runs(admin_persona, bob, switched_on, settings, tmp_path,
                                                               capsys):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    repository = log_repository_add(name="Primary", kind="directory", path=str(tmp_path / "primary"),
                                    retention_days=30, password="first password 1")
    switched_on(Action.ENCRYPTION_OFF)
    (tmp_path / "old").write_text("first password 1")
    (tmp_path / "new").write_text("second password 2")
    args = ["--name", "Primary", "--old-password-file", str(tmp_path / "old"), "--new-password-file",
            str(tmp_path / "new")]
    call_command("log_repository_change_password", *args)
    request = ApprovalRequest.objects.get()
    assert "waits for a second administrator" in capsys.readouterr().out
    assert "second password 2" not in str(request.params) and "second password 2" not in str(
        Entry.objects.values_list("detail", flat=True))
    call_command("approval_approve", "--id", str(request.pk), "--as", "bob")
    assert "password changed" in capsys.readouterr().out
    assert "sealed_new_password" not in ApprovalRequest.objects.get().params
    LogStore(log_repository_backend(repository), password="second password 2")  # opens with the new one


def test_the_job_admin_saves_a_lowered_retention_only_after_approval(tenant, admin_persona, bob, switched_on):
    job = job_create(tenant=tenant, retention_days=30)
    switched_on(Action.RETENTION_LOWER)
    request = RequestFactory().post("/admin/")
    request.user, request.session = admin_persona, {}
    request._messages = FallbackStorage(request)
    edited = BackupJob.objects.get(pk=job.pk)
    edited.retention_days, edited.name = 5, "renamed"
    site.get_model_admin(BackupJob).save_model(request, edited, form=None, change=True)
    job.refresh_from_db()
    assert (job.name, job.retention_days) == ("renamed", 30)  # the other change is saved, the retention waits
    assert "waits for a second administrator" in str(list(request._messages)[0])
    services.approval_approve(approval_id=ApprovalRequest.objects.get().pk, user=bob)
    job.refresh_from_db()
    assert job.retention_days == 5
