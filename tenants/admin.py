from django.contrib import admin

from tenants.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Registration is done on the Tenants pages or with `manage.py tenant_add` (credentials are sealed
    there); the admin shows tenants and lets an administrator fix names, features and endpoints."""

    list_display = ["name", "directory_id", "cloud", "credential_type", "credential_expires_at", "check_status", "checked_at"]
    list_filter = ["cloud", "credential_type", "check_status"]
    search_fields = ["name", "directory_id", "client_id"]
    exclude = ["sealed_credential"]
    readonly_fields = ["client_id", "credential_type", "certificate_pem", "certificate_thumbprint",
                       "credential_expires_at", "credential_updated_at", "check_status", "checked_at",
                       "check_report", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False
