from django.contrib import admin

from audittrail.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """The audit trail in the admin: read only (the database refuses changes anyway)."""

    list_display = ("id", "at", "username", "command", "action", "target", "tenant_name", "result", "ip")
    list_filter = ("result", "actor")
    search_fields = ("action", "username", "target", "tenant_name")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Entry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
