"""The restore pages: choose objects, review the plan as a readable diff, apply it with a reason, watch the
session. Every page needs the restore permission (restore.run_restore) and a tenant the user may see."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import scoped_or_404
from entrabackup import graph
from repositories.errors import RepositoryError
from restore import planning, sessions
from restore.errors import RestoreError
from restore.models import RestorePlan
from restore.restore_forms import ApplyForm, AuditPlanForm, PlanForm
from restore.runner import passwords_export
from restore.selectors import tenant_backups
from restore.views import _clear_errors, _error
from tenants.selectors import tenant_for

RESTORE = "restore.run_restore"
PLAN_FAILURES = (RestoreError, RepositoryError, graph.GraphError)


def _plan_for(user, pk) -> RestorePlan:
    return scoped_or_404(RestorePlan.objects.select_related("tenant"), user, RESTORE, pk=pk)


def _session_for(user, pk):
    return scoped_or_404(sessions.RestoreSession.objects.select_related("tenant"), user, RESTORE, pk=pk)


@permission_required(RESTORE, raise_exception=True)
@_clear_errors
def plan_create(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk, RESTORE)
    form = PlanForm(request.POST or None, initial={"ids": request.GET.get("ids", "")[:20000]})
    if request.method == "POST" and form.is_valid():
        try:
            doc = planning.plan_build(tenant=tenant, restore_point=form.cleaned_data["rp"],
                                      selection=form.selection(), options=form.options())
        except PLAN_FAILURES as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("restore:plan_detail", pk=RestorePlan.objects.create(
                tenant=tenant, plan=doc, created_by=request.user).pk)
    with tenant_backups(tenant) as backups:
        refs = backups.restore_points()
    return render(request, "restore/plan_create.html", {"tenant": tenant, "form": form, "refs": refs})


@require_POST
@permission_required(RESTORE, raise_exception=True)
def plan_from_audit(request, tenant_pk):
    """POST audit_ids (one per line): a plan reverting those directory audit records, then its review."""
    tenant = tenant_for(request.user, tenant_pk, RESTORE, "restore.explore_logs")
    form = AuditPlanForm(request.POST)
    if not form.is_valid():
        return _error(request, 400, "No audit records to revert", [m for e in form.errors.values() for m in e])
    try:
        doc = planning.plan_from_audit(tenant=tenant, record_ids=form.cleaned_data["audit_ids"],
                                       options=planning.planner.Options())
    except PLAN_FAILURES as exc:
        return _error(request, 400, "These records cannot be reverted", [str(exc)])
    return redirect("restore:plan_detail", pk=RestorePlan.objects.create(
        tenant=tenant, plan=doc, created_by=request.user).pk)


@permission_required(RESTORE, raise_exception=True)
def plan_detail(request, pk):
    plan = _plan_for(request.user, pk)
    form = ApplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = sessions.restore_session_create(tenant=plan.tenant, plan=plan.plan,
                                                      reason=form.cleaned_data["reason"], requested_by=request.user)
        except RestoreError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("restore:restore_session_detail", pk=session.pk)
    return render(request, "restore/plan_detail.html", {"plan": plan, "doc": plan.plan, "form": form})


@permission_required(RESTORE, raise_exception=True)
def restore_session_detail(request, pk):
    session = _session_for(request.user, pk)
    context = {"session": session, "writes": session.writes.all()[:500]}
    if request.htmx:
        response = render(request, "restore/_restore_session_status.html", context)
        response.status_code = 286 if session.finished else 200  # 286 stops htmx polling
        response["Vary"] = "HX-Request"
        return response
    return render(request, "restore/restore_session_detail.html", context)


@require_POST
@permission_required(RESTORE, raise_exception=True)
def restore_session_cancel(request, pk):
    session = _session_for(request.user, pk)
    if not sessions.restore_session_cancel(session=session, user=request.user):
        messages.error(request, f"Restore session {session.pk} has already finished.")
    return redirect("restore:restore_session_detail", pk=session.pk)


@require_POST
@permission_required(RESTORE, raise_exception=True)
def restore_session_passwords(request, pk):
    """The new users' passwords as CSV, once: they are erased from the session as they are sent."""
    session = _session_for(request.user, pk)
    text = passwords_export(session)
    if text.count("\n") <= 1:
        messages.error(request, "The passwords were shown already, or no user was re-created.")
        return redirect("restore:restore_session_detail", pk=session.pk)
    response = HttpResponse(text, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="restore-{session.pk}-passwords.csv"'
    response["Cache-Control"] = "no-store"
    return response
