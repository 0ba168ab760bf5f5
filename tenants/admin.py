from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.access import TenantScopedAdmin
from tenants.models import TENANT_ENDPOINT_FIELDS, Tenant


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Registration is done on the Tenants pages or with `manage.py tenant_add` (credentials are sealed
    there). The admin lets an administrator fix names and features; where the credential is sent (cloud,
    directory, URLs, CA bundle) is read-only here and changes on the tenant's page, together with the
    credential entered again."""

    list_display = ["name", "directory_id", "cloud", "credential_type", "credential_expires_at", "check_status", "checked_at"]
    list_filter = ["cloud", "credential_type", "check_status"]
    search_fields = ["name", "directory_id", "client_id"]
    exclude = ["sealed_credential"]
    readonly_fields = ["connection", *TENANT_ENDPOINT_FIELDS, "client_id", "credential_type", "certificate_pem",
                       "certificate_thumbprint", "credential_expires_at", "credential_updated_at", "check_status",
                       "checked_at", "check_report", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Connection")
    def connection(self, tenant):
        if tenant.pk is None:
            return "-"
        return format_html(
            'Changing the cloud, tenant ID, URLs or CA bundle needs the credential again: '
            '<a href="{}">change the connection on the tenant\'s page</a>.',
            reverse("tenants:tenant_connection", args=[tenant.pk]),
        )
