from django.contrib import admin

from accounts.access import TenantScopedAdmin
from jobs.models import BackupJob, BackupSession, Proxy


@admin.register(BackupJob)
class BackupJobAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "tenant", "repository", "schedule_kind", "schedule_value", "enabled", "next_run_at"]
    list_filter = ["enabled", "schedule_kind"]


@admin.register(BackupSession)
class BackupSessionAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ["id", "job", "status", "ran_full", "queued_at", "ended_at", "restore_point_id"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in BackupSession._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Proxy)
class ProxyAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "workers", "heartbeat_at"]
