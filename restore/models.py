from django.conf import settings
from django.db import models
from django.db.models import Q

from entrabackup.vault import SealedField
from jobs.models import BackupSession


class RestoreSession(models.Model):
    """One apply of a restore plan to a tenant, run on a backup proxy: the plan, who asked and why, and the
    outcome of every write (``RestoreWrite``). A session that resumes an unfinished one of the same plan
    (``resume_of``) starts from its journal and skips what is done."""

    Status = BackupSession.Status
    FINISHED = BackupSession.FINISHED
    ACTIVE = BackupSession.ACTIVE

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="restore_sessions")
    plan = models.JSONField(help_text="The plan as restore_plan made it (restore/plan.py)")
    plan_id = models.CharField(max_length=64, db_index=True)
    reason = models.TextField(help_text="Why this restore is made (required, kept with the session)")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    resume_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resumes")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    proxy_name = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True, help_text="steps done / total, requests")
    id_map = models.JSONField(default=dict, blank=True, help_text="old id -> new id of re-created objects")
    sealed_passwords = SealedField(blank=True, help_text="New users' passwords until shown once (sealed JSON)")
    passwords_shown_at = models.DateTimeField(null=True, blank=True)
    graph_stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at"]
        permissions = [("run_restore", "Can plan and apply restores"),
                       ("browse_backups", "Can browse backed-up objects and compare restore points"),
                       ("explore_logs", "Can search and export backed-up audit and sign-in logs")]
        constraints = [
            # Two restores of one tenant at once would race on the same objects.
            models.UniqueConstraint(fields=["tenant"], condition=Q(status__in=["queued", "running"]),
                                    name="one_active_restore_per_tenant",
                                    violation_error_message="The tenant has a restore queued or running already."),
        ]

    def __str__(self):
        return f"Restore session {self.pk} of {self.tenant}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    def vault_binding(self) -> str:
        return f"restore-session-{self.pk}"


class RestoreWrite(models.Model):
    """One step of the plan in one session: its status and Graph's answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent, answer not recorded"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        NOT_DONE = "not_done", "Not done"

    session = models.ForeignKey(RestoreSession, on_delete=models.CASCADE, related_name="writes")
    step = models.CharField(max_length=20)
    position = models.PositiveIntegerField()
    op = models.CharField(max_length=20)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    new_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "step"], name="one_write_per_step")]

    def __str__(self):
        return f"{self.step} {self.op} {self.object_type} {self.object_id}: {self.status}"


class RestorePlan(models.Model):
    """A plan made on the pages, kept for review until it is applied (the command writes plans to files)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="restore_plans")
    plan = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Restore plan {self.pk} of {self.tenant}"
