"""The admin shows requests and switches read-only (they change on the Approvals pages, where the rules hold),
and lends other apps' admins the four-eyes checks of their own edit paths."""

from django.contrib import admin, messages

from approvals.actions import RETENTION_FIELDS, retention_change
from approvals.models import Action, ApprovalRequest, ApprovalSwitch
from approvals.services import switch_requires


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(_ReadOnly):
    list_display = ["id", "action", "summary", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status", "action"]


@admin.register(ApprovalSwitch)
class ApprovalSwitchAdmin(_ReadOnly):
    list_display = ["action", "enabled", "min_writes", "updated_by", "updated_at"]


class RetentionApprovalMixin:
    """A ModelAdmin (jobs, log repositories) whose save that lowers the retention waits for approval; the
    other changes of the form are saved."""

    retention_kind = "job"

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj).objects.get(pk=obj.pk)
            fields = RETENTION_FIELDS[self.retention_kind]
            waiting = retention_change(target=stored, values={f: getattr(obj, f) for f in fields}, user=request.user)
            if waiting is not None:
                for name in fields:
                    setattr(obj, name, getattr(stored, name))
                messages.warning(request, f"Lowering the retention waits for a second administrator: approval "
                                          f"request {waiting.pk}. The other changes are saved.")
        super().save_model(request, obj, form, change)


class DeletionApprovalMixin:
    """A repository admin that deletes nothing while four-eyes approval is on for deleting repositories (the
    Repositories pages and commands ask for the approval)."""

    def has_delete_permission(self, request, obj=None):
        return not switch_requires(Action.REPOSITORY_DELETE) and super().has_delete_permission(request, obj)
