"""Project-wide pages: the dashboard and the health check."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs.selectors import proxies_running
from tenants.selectors import tenants_with_warnings


def dashboard(request):
    tenants = tenants_with_warnings(request.user)
    context = {
        "proxies": proxies_running(),
        "tenants": tenants,
        "tenants_ready": sum(1 for tenant, _ in tenants if tenant.check_status == "ok"),
        "warnings": [(tenant, warning) for tenant, warning in tenants if warning],
    }
    return render(request, "dashboard.html", context)


@login_not_required
@require_GET
def healthz(request):
    """Liveness for a load balancer or supervisor: the configuration database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
