"""The dashboard: the first page after logging in. Its board (cards, tenants, charts) refreshes itself
every 30 s through HTMX, and its links (pages, a tenant's charts) swap the board only."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from dashboard.selectors import RECENT_POINTS, credential_warnings, dashboard_for


def dashboard(request):
    page, chart, error = _number(request, "page", 1), _number(request, "chart", None), None
    if page is False or chart is False:
        page, chart, error = 1, None, "Page and chart take a whole number; showing the first page."
    board = dashboard_for(request.user, page=page, only_attention=request.GET.get("attention") == "1",
                         chart_tenant=chart)
    context = {"board": board, "error": error, "recent_points": RECENT_POINTS}
    if request.htmx:
        response = render(request, "dashboard/_board.html", context)
    else:
        context["warnings"] = credential_warnings(request.user)
        response = render(request, "dashboard/dashboard.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _number(request, name: str, default):
    """The query parameter as a positive int; the default when absent; False when it is not a number."""
    text = request.GET.get(name, "")
    if not text:
        return default
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else False
