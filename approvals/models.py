from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    """The actions four-eyes approval can be switched on for (one ApprovalSwitch row each)."""

    RESTORE_POINT_DELETE = "restore_point.delete", "Delete restore points"
    REPOSITORY_DELETE = "repository.delete", "Delete a repository (directory or log)"
    RETENTION_LOWER = "retention.lower", "Lower a retention"
    ENCRYPTION_OFF = "encryption.off", "Turn encryption off or change its password"
    RESTORE_APPLY_LARGE = "restore.apply_large", "Apply a large restore"


# Not switchable: weakening a switch that is on always needs a second administrator (approvals/services.py).
SWITCH_CHANGE = "approval.switch_change"
ACTION_LABELS = {**dict(Action.choices), SWITCH_CHANGE: "Weaken a four-eyes switch"}


class ApprovalSwitch(models.Model):
    """Whether `action` waits for a second administrator; for large restores, from how many planned writes."""

    action = models.CharField(max_length=40, choices=Action.choices, unique=True)
    enabled = models.BooleanField(default=False)
    min_writes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Large restores only: a plan with at least this many writes waits")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action"]
        permissions = [("decide_approval", "Can approve or deny four-eyes requests and change their switches")]

    def __str__(self):
        return f"{self.get_action_display()}: {'on' if self.enabled else 'off'}"


class ApprovalRequest(models.Model):
    """An action that waits for a second administrator; approving it runs the action once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        RUNNING = "running", "Approved, running"
        DONE = "done", "Approved and done"
        FAILED = "failed", "Approved, but it failed"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"
        STALE = "stale", "Refused: its target changed"
        WITHDRAWN = "withdrawn", "Withdrawn by the requester"

    OPEN = (Status.PENDING,)

    action = models.CharField(max_length=40, db_index=True)
    summary = models.CharField(max_length=500)
    params = models.JSONField(default=dict, help_text="What the registered executor receives")
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="approval_requests")
    target_state = models.CharField(max_length=64, blank=True,
                                    help_text="Digest of the target when asked; a different one at approval is stale")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="The decider's note")
    result = models.TextField(blank=True, help_text="What the action did, or why it failed")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        # Tenant-scoped (the row has a tenant): an administrator limited to some tenants decides their requests.
        permissions = [("decide_request", "Can approve or deny four-eyes requests of its tenants")]

    def __str__(self):
        return f"Approval request {self.pk}: {self.summary}"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING
