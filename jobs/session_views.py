"""The Sessions page: backup, log and restore sessions in one list, filtered and paged on the server; it polls
(HTMX) only while a session in view is queued or running, and answers 286 once none is. Actions (cancel,
retry, run a full backup) ask for confirmation on a page of their own, then POST."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from jobs.errors import JobError
from jobs.selectors import proxies_visible_to
from jobs.session_actions import ACTIONS, actions_for, session_act
from jobs.session_forms import SessionFilterForm, cursor_text
from jobs.sessionlist import kinds_for, session_row, sessions_overall, sessions_page, tenants_for


def session_list(request):
    kinds = kinds_for(request.user)
    if not kinds:
        raise PermissionDenied
    form = SessionFilterForm(request.GET)
    rows, cursor, overall = [], None, None
    if form.is_valid():
        flt = form.session_filter()
        rows, cursor = sessions_page(request.user, flt)
        overall = sessions_overall(request.user, tenant_id=flt.tenant_id, kind=flt.kind)
    context = {"form": form, "rows": rows, "overall": overall, "kinds": kinds,
               "next_query": _query(request, before=cursor_text(cursor)) if cursor else None,
               "newest_query": _query(request, before=None) if request.GET.get("before") else None,
               "actions": {(r.kind, r.pk): actions_for(request.user, r.kind, r.status) for r in rows}}
    if request.htmx:
        response = render(request, "jobs/_session_table.html", context)
        if form.is_valid() and not overall.active:
            response.status_code = 286  # nothing runs: htmx stops polling
    else:
        context["tenants"] = tenants_for(request.user, "tenants.view_tenant").order_by("name").values_list("pk", "name")
        context["proxies"] = proxies_visible_to(request.user)
        response = render(request, "jobs/session_list.html", context, status=200 if form.is_valid() else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response


def session_action(request, kind, pk, action):
    row = session_row(request.user, kind, pk)
    if row is None or action not in ACTIONS:
        raise Http404
    back = _back(request, kind, pk)
    if request.method == "POST":
        try:
            messages.success(request, session_act(kind=kind, pk=pk, action=action, user=request.user))
        except JobError as exc:
            messages.error(request, str(exc))
        return redirect(back)
    if ACTIONS[action] not in actions_for(request.user, kind, row.status):
        raise PermissionDenied
    return render(request, "jobs/session_action.html", {"row": row, "action": ACTIONS[action], "back": back})


def _back(request, kind, pk) -> str:
    """Where to go after the action: the page it came from (this site only), else the list."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("jobs:session_list")


def _query(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return params.urlencode()
