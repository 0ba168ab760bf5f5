"""The Sessions page: backup, log and restore sessions in one list, filtered and paged on the server; it polls
(HTMX) only while a session in view is queued or running, and answers 286 once none is. Actions (cancel,
retry, run a full backup) ask for confirmation on a page of their own, then POST."""

import html

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from accounts.access import tenants_for
from jobs.errors import JobError
from jobs.session_actions import ACTIONS, PERMS, actions_for, links_for, session_act
from jobs.session_forms import SessionFilterForm, cursor_text
from jobs.sessionlist import kinds_for, proxies_health, session_row, sessions_overall, sessions_page


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
               "newest_query": _query(request, before=None) if request.GET.get("before") else None}
    links_for(request.user, rows, request.get_full_path())
    if request.htmx:
        response = render(request, "jobs/_session_table.html", context)
        if form.is_valid() and not overall.active:
            response.status_code = 286  # nothing runs: htmx stops polling
    else:
        context["tenant_options"] = _tenant_options(request.user, request.GET.get("tenant", ""))
        context["proxies"] = proxies_health(request.user, has_tenants=bool(context["tenant_options"]))
        response = render(request, "jobs/session_list.html", context, status=200 if form.is_valid() else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response


def session_action(request, kind, pk, action):
    if kind not in PERMS or action not in ACTIONS:
        raise Http404
    if not request.user.has_perm(PERMS[kind]):
        raise PermissionDenied
    row = session_row(request.user, kind, pk, PERMS[kind])  # 404 on a tenant where the user may not act
    if row is None:
        raise Http404
    back = _back(request)
    if request.method == "POST":
        try:
            messages.success(request, session_act(kind=kind, pk=pk, action=action, user=request.user))
        except JobError as exc:
            messages.error(request, str(exc))
        return redirect(back)
    if ACTIONS[action] not in actions_for(request.user, kind, row.status, row.tenant_id):
        messages.error(request, f"Session {pk} is {row.status_label.lower()}: {ACTIONS[action].label.lower()} "
                                "does not apply to it.")
        return redirect(back)
    return render(request, "jobs/session_action.html", {"row": row, "action": ACTIONS[action], "back": back})


def _tenant_options(user, selected: str) -> str:
    """The tenant filter's <option>s, escaped, built in one pass (a thousand tenants through the template
    language cost more than the rest of the page)."""
    tenants = tenants_for(user, "tenants.view_tenant").order_by("name").values_list("pk", "name")
    options = (f'<option value="{pk}"{" selected" if str(pk) == selected else ""}>{html.escape(name)}</option>'
               for pk, name in tenants)
    return mark_safe("".join(options))  # noqa: S308 - names escaped, ids are integers


def _back(request) -> str:
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
