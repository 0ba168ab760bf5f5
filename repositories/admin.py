from django.contrib import admin

from repositories.models import Repository


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "database", "host", "schema_version", "checked_at"]
    exclude = ["sealed_password"]
    readonly_fields = ["schema_version", "server_version", "size_bytes", "checked_at", "check_error", "created_at"]

    def has_add_permission(self, request):
        return False  # added on the Repositories page, where it is checked and prepared first
