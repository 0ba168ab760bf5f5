"""Four-eyes checks lent to other apps' admins, for the edit paths the admin offers. Requests and switches are
not in the admin: they change on the Approvals pages, where the rules (and the tenant scopes) hold."""

from django.contrib import messages

from approvals.actions import RETENTION_FIELDS, retention_change
from approvals.models import Action
from approvals.services import switch_requires


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
