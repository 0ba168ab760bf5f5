import json

from django.db import models


class Entry(models.Model):
    """One operator action in the append-only audit trail: who, what, when, from where, and the result.

    Rows are never updated or deleted (a PostgreSQL trigger refuses it, see migration 0001). `id` is the
    row's place in the chain, given under the chain's lock without gaps; `hash` is the sha-256 of the row's
    canonical content together with `prev_hash`, the hash of the row before it (audittrail/chain.py). The
    user and the tenant are kept by id and by their name at the time, not by foreign key: the row outlives
    them and must not change when they are renamed or deleted.
    """

    class Actor(models.TextChoices):
        USER = "user", "User"
        COMMAND = "command", "Command"
        SYSTEM = "system", "System"

    class Result(models.TextChoices):
        OK = "ok", "Succeeded"
        WARNING = "warning", "Succeeded with warnings"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        DENIED = "denied", "Refused"
        PENDING = "pending", "Waiting for approval"

    id = models.BigIntegerField(primary_key=True, editable=False)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=10, choices=Actor.choices)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    command = models.CharField(max_length=100, blank=True, help_text="The management command, for a command")
    os_user = models.CharField("OS user", max_length=100, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=300, blank=True)
    tenant_id = models.BigIntegerField(null=True, blank=True)
    tenant_name = models.CharField(max_length=100, blank=True, help_text="The tenant's name at the time")
    result = models.CharField(max_length=20, default=Result.OK)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.CharField("client address", max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    host = models.CharField(max_length=200, blank=True, help_text="The host a command or a proxy ran on")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit trail entry"
        verbose_name_plural = "audit trail"
        # Every filter of the page is an equality with the newest first: (field, id) serves both at once.
        indexes = [
            models.Index(fields=["action", "id"], name="audittrail_action_id"),
            # An action prefix ("restore.*") is a LIKE: this index answers it under any collation.
            models.Index(fields=["action"], name="audittrail_action_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["user_id", "id"], name="audittrail_user_id"),
            models.Index(fields=["username", "id"], name="audittrail_username_id"),
            models.Index(fields=["tenant_id", "id"], name="audittrail_tenant_id"),
            models.Index(fields=["result", "id"], name="audittrail_result_id"),
        ]

    def __str__(self):
        who = self.username or self.command or self.actor
        return f"#{self.id} {self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.result}"

    def detail_json(self) -> str:
        return json.dumps(self.detail, indent=2, ensure_ascii=False, sort_keys=True)


class ChainHead(models.Model):
    """The newest entry of the chain: its id and hash. One row (id 1).

    Writers lock it (SELECT ... FOR UPDATE) for the rest of their transaction, so entries join the chain one
    at a time; the verification compares it with the newest entry, which finds entries removed from the end.
    """

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit trail head #{self.last_id}"
