"""The approval pages: pending requests, a request with approve/deny, and the switches per action.

Every rule (administrators only, never your own request, expiry, staleness) is the service's; the pages
only hide the buttons a user cannot use.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from approvals import selectors, services
from approvals.errors import ApprovalError
from approvals.forms import DecisionForm, SwitchForm
from approvals.models import ApprovalRequest

RECENT = 50


def approval_list(request):
    services.approvals_expire()
    rows = selectors.approvals_visible_to(request.user)
    pending = list(rows.filter(status=ApprovalRequest.Status.PENDING))
    closed = list(rows.exclude(status=ApprovalRequest.Status.PENDING)[:RECENT])
    for approval in pending + closed:
        approval.described = services.params_described(approval)
    return render(request, "approvals/approval_list.html", {"pending": pending, "closed": closed})


def approval_detail(request, pk):
    services.approvals_expire()
    approval = get_object_or_404(selectors.approvals_visible_to(request.user), pk=pk)
    context = {"approval": approval, "described": services.params_described(approval), "form": DecisionForm(),
               "can_decide": approval.is_open and approval.requested_by_id != request.user.pk
               and selectors.is_administrator(request.user, approval.tenant),
               "can_withdraw": approval.is_open and approval.requested_by_id == request.user.pk}
    return render(request, "approvals/approval_detail.html", context)


def _decide(request, pk, decide, done: str):
    get_object_or_404(selectors.approvals_visible_to(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("approvals:approval_detail", pk=pk)
    try:
        approval = decide(approval_id=pk, user=request.user, note=form.cleaned_data["note"])
    except ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(approval=approval))
    return redirect("approvals:approval_detail", pk=pk)


@require_POST
def approval_approve(request, pk):
    return _decide(request, pk, services.approval_approve,
                   "Request {approval.pk} approved: {approval.result}")


@require_POST
def approval_deny(request, pk):
    return _decide(request, pk, services.approval_deny, "Request {approval.pk} denied; nothing was done.")


@require_POST
def approval_withdraw(request, pk):
    try:
        services.approval_withdraw(approval_id=pk, user=request.user)
    except ApprovalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Request {pk} withdrawn.")
    return redirect("approvals:approval_list")


def switch_list(request):
    if request.method == "POST":
        _switch_change(request, SwitchForm(request.POST))
        return redirect("approvals:switch_list")
    context = {"switches": selectors.switches(), "can_change": selectors.is_administrator(request.user)}
    return render(request, "approvals/switch_list.html", context)


def _switch_change(request, form: SwitchForm) -> None:
    if not form.is_valid():
        messages.error(request, " ".join(f"{name}: {m}" for name, errors in form.errors.items() for m in errors))
        return
    try:
        waiting = services.switch_set(user=request.user, **form.cleaned_data)
    except ApprovalError as exc:
        messages.error(request, str(exc))
        return
    if waiting is None:
        messages.success(request, "Switch changed.")
    else:
        messages.warning(request, f"Waiting for a second administrator: request {waiting.pk} ({waiting.summary}).")
