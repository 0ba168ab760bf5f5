from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from approvals.admin import DeletionApprovalMixin, RetentionApprovalMixin
from repositories.models import (
    LOG_REPOSITORY_ENDPOINT_FIELDS,
    REPOSITORY_ENDPOINT_FIELDS,
    LogRepository,
    Repository,
)


@admin.register(Repository)
class RepositoryAdmin(DeletionApprovalMixin, admin.ModelAdmin):
    """Where the password is sent (host, port, user, database, TLS) is read-only here: it changes on the
    Repositories page, together with the password entered again, after the new database is checked."""

    list_display = ["name", "kind", "database", "host", "schema_version", "checked_at"]
    exclude = ["sealed_password"]
    readonly_fields = ["connection", *REPOSITORY_ENDPOINT_FIELDS, "key", "schema_version", "server_version",
                       "size_bytes", "checked_at", "check_error", "created_at"]

    def has_add_permission(self, request):
        return False  # added on the Repositories page, where it is checked and prepared first

    @admin.display(description="Connection")
    def connection(self, repository):
        if repository.pk is None:
            return "-"
        return format_html(
            'Changing the host, port, user, database or TLS mode needs the password again: '
            '<a href="{}">change the connection on the Repositories page</a>.',
            reverse("repositories:repository_connection", args=[repository.pk]),
        )


@admin.register(LogRepository)
class LogRepositoryAdmin(DeletionApprovalMixin, RetentionApprovalMixin, admin.ModelAdmin):
    """Where a log repository is, and its secrets, are read-only here: they are checked when it is added."""

    retention_kind = "log_repository"

    list_display = ["name", "kind", "location", "retention_days", "encryption", "checked_at", "check_ok"]
    exclude = ["sealed_secret_access_key", "sealed_password"]
    readonly_fields = [*LOG_REPOSITORY_ENDPOINT_FIELDS, "object_lock_days", "encryption", "key", "key_id", "checked_at",
                       "check_ok", "check_summary", "usage_bytes", "free_bytes", "created_at"]

    def has_add_permission(self, request):
        return False  # added on the Repositories page, where the storage is checked first
