"""The dashboard: the first page after logging in."""

from django.shortcuts import render

from dashboard.selectors import dashboard_for


def dashboard(request):
    return render(request, "dashboard/dashboard.html", {"dashboard": dashboard_for(request.user)})
