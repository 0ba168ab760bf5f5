from django.conf import settings
from django.db import models
from django.db.models import Q


class Proxy(models.Model):
    """A backup proxy: one django-q2 cluster (`manage.py qcluster`) as it last reported itself."""

    name = models.CharField(max_length=200, unique=True, help_text="host/cluster name")
    host = models.CharField(max_length=200)
    cluster_id = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=20, blank=True)
    workers = models.PositiveIntegerField(default=0, help_text="sessions it can run at once")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "proxies"

    def __str__(self):
        return self.name


class BackupJob(models.Model):
    """What to back up from one tenant, where to, when, and for how long to keep it."""

    class ScheduleKind(models.TextChoices):
        MANUAL = "manual", "Only when started by hand"
        MINUTES = "minutes", "Every N minutes"
        HOURS = "hours", "Every N hours"
        DAILY = "daily", "Daily at a time (HH:MM)"
        CRON = "cron", "Cron expression"

    name = models.CharField(max_length=100, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="backup_jobs")
    repository = models.ForeignKey("repositories.Repository", on_delete=models.PROTECT, related_name="backup_jobs")
    object_types = models.JSONField(default=list, help_text="Object types to back up (empty: all)")
    schedule_kind = models.CharField(max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.MANUAL)
    schedule_value = models.CharField(max_length=100, blank=True, help_text="N, HH:MM or a cron expression")
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="Keep restore points this many days")
    retention_points = models.PositiveIntegerField(null=True, blank=True, help_text="Keep at most this many restore points")
    full_every_days = models.PositiveIntegerField(default=7, help_text="Full reconciliation read every N days (0: never)")
    proxy = models.ForeignKey(Proxy, null=True, blank=True, on_delete=models.SET_NULL, help_text="Pin to this proxy")
    retries = models.PositiveIntegerField(default=1, help_text="Retries of an interrupted or failed session")
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("run_backup", "Can start a backup")]

    def __str__(self):
        return self.name


class BackupSession(models.Model):
    """One run of a backup job: at most one restore point, with what it read, wrote and met on the way."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Success with warnings"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        INTERRUPTED = "interrupted", "Interrupted"

    class Kind(models.TextChoices):
        AUTO = "auto", "Incremental, full when due"
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    class Failure(models.TextChoices):
        PERMANENT = "permanent", "Needs a fix: not retried"
        TRANSIENT = "transient", "May pass: retried after a pause"

    FINISHED = (Status.SUCCESS, Status.WARNING, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="sessions")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="backup_sessions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.AUTO)
    ran_full = models.BooleanField(null=True, help_text="Whether the session read everything")
    object_types = models.JSONField(default=list)
    trigger = models.CharField(max_length=20, default="manual")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    attempt = models.PositiveIntegerField(default=1)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    queued_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="A retry waits in the queue until then")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    proxy_name = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    restore_point_id = models.BigIntegerField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="Per object type: read/new/changed/deleted/unchanged")
    graph_stats = models.JSONField(default=dict, blank=True, help_text="Requests, retries, 429s, bytes")
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True,
                               help_text="Whether the failure may pass by itself (retried) or needs a fix")
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [
            models.Index(fields=["tenant", "status"]), models.Index(fields=["status", "heartbeat_at"]),
            # The Sessions page and the dashboard: newest first, overall, per tenant, per status, and the newest
            # restore points of a tenant (jobs/sessionlist.py, dashboard/selectors.py).
            models.Index(fields=["-queued_at", "-id"], name="jobs_bs_queued_idx"),
            models.Index(fields=["tenant", "-queued_at", "-id"], name="jobs_bs_tenant_queued_idx"),
            models.Index(fields=["status", "-queued_at", "-id"], name="jobs_bs_status_queued_idx"),
            models.Index(fields=["tenant", "-queued_at", "-id"], condition=Q(restore_point_id__isnull=False),
                         name="jobs_bs_tenant_points_idx"),
        ]
        constraints = [
            # Two sessions of a tenant would fight over its lock in the repository, and their restore points
            # could commit out of order: the database, not only the code, keeps it to one at a time.
            models.UniqueConstraint(fields=["tenant"], condition=Q(status__in=["queued", "running"]),
                                    name="one_active_session_per_tenant",
                                    violation_error_message="The tenant has a session queued or running already."),
        ]

    def __str__(self):
        return f"Session {self.pk} of {self.job}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration(self):
        if self.started_at and self.ended_at:
            return self.ended_at - self.started_at
        return None


class LogJob(models.Model):
    """Which audit and sign-in logs of a tenant to back up, how often, with how much overlap, and where to."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="log_jobs")
    log_types = models.JSONField(default=list, help_text="Log types (jobs/logbackup/types.py; empty: all)")
    every_minutes = models.PositiveIntegerField(default=15)
    overlap_minutes = models.PositiveIntegerField(
        default=60, help_text="Re-read this far behind the watermark for records that arrive late")
    primary = models.ForeignKey("repositories.LogRepository", on_delete=models.PROTECT, related_name="primary_jobs")
    secondary = models.ForeignKey("repositories.LogRepository", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="secondary_jobs")
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "pk"]
        permissions = [("run_log_backup", "Can start a log backup")]

    def __str__(self):
        return f"Log job {self.pk} of {self.tenant}"


class LogSession(models.Model):
    """One run of a log job: what it read from Graph and stored, per log type."""

    Status = BackupSession.Status
    Failure = BackupSession.Failure
    FINISHED = BackupSession.FINISHED
    ACTIVE = BackupSession.ACTIVE

    job = models.ForeignKey(LogJob, on_delete=models.CASCADE, related_name="sessions")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="log_sessions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    trigger = models.CharField(max_length=20, default="manual")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    proxy_name = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="Per log type: read/new/duplicates/bytes/chunks/"
                                                                 "from/to/throttled")
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [
            models.Index(fields=["tenant", "status"]), models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["-queued_at", "-id"], name="jobs_ls_queued_idx"),
            models.Index(fields=["tenant", "-queued_at", "-id"], name="jobs_ls_tenant_queued_idx"),
            models.Index(fields=["status", "-queued_at", "-id"], name="jobs_ls_status_queued_idx"),
        ]
        constraints = [
            # Two log sessions of a tenant would read the same window and race on the same chunks and cache.
            models.UniqueConstraint(fields=["tenant"], condition=Q(status__in=["queued", "running"]),
                                    name="one_active_log_session_per_tenant",
                                    violation_error_message="The tenant has a log session queued or running already."),
        ]

    def __str__(self):
        return f"Log session {self.pk} of {self.job}"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class TenantSummary(models.Model):
    """Each tenant's latest session results, so the home page judges a thousand tenants from a thousand small
    rows instead of probing their sessions.

    Kept by PostgreSQL triggers on the two session tables (jobs/migrations/0009_tenant_summary.py): any insert,
    delete, or change of a session's tenant, status, queue time, end or restore point recomputes the summary of
    its tenants in the same statement, whichever code path wrote it (a runner, a fail-over, a cancel, a job
    removed with its sessions, the admin). "Latest" means what the Sessions page shows first: the newest by
    (queued_at, id). Read only; never write it from Python.
    """

    tenant = models.OneToOneField("tenants.Tenant", primary_key=True, on_delete=models.DO_NOTHING,
                                  db_constraint=False, related_name="session_summary")
    last_backup_id = models.BigIntegerField(null=True, help_text="The newest finished backup session")
    last_backup_status = models.CharField(max_length=12, null=True)  # noqa: DJ001 - NULL: none finished yet
    newest_point_at = models.DateTimeField(null=True, help_text="When the newest restore point's session ended")
    last_log_id = models.BigIntegerField(null=True, help_text="The newest finished log session")
    last_log_status = models.CharField(max_length=12, null=True)  # noqa: DJ001 - NULL: none finished yet

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"Summary of tenant {self.tenant_id}"
