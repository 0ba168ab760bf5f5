from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The dashboard page and `manage.py demo`: the parts that look across tenants, jobs and proxies."""

    name = "dashboard"
    verbose_name = "Dashboard"
