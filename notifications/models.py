"""Notification channels (e-mail recipients, signed webhooks), the thresholds, and every delivery made."""

import uuid

from django.db import models

from entrabackup import vault
from entrabackup.vault import SealedField

# The fields that say where a webhook's secret is used: the sealed secret is bound to them, so a changed URL
# needs the secret again (as a tenant's credential or a repository's password does).
CHANNEL_ENDPOINT_FIELDS = ("url",)


class Event(models.TextChoices):
    """What a channel can be told about (docs/notifications.md)."""

    SESSION = "session", "A backup, log or restore session fails or warns"
    OVERDUE = "overdue", "A scheduled backup is overdue"
    EXPIRY = "expiry", "A tenant's secret or certificate is about to expire"
    SECURITY = "security", "A backup sees a security-relevant change"
    TEST = "test", "Test message"


EVENTS = [e for e in Event if e != Event.TEST]


class NotificationSettings(models.Model):
    """The thresholds of every channel: one row (pk 1)."""

    expiry_days = models.PositiveIntegerField(default=30, help_text="Warn this many days before a credential expires")
    overdue_grace_minutes = models.PositiveIntegerField(
        default=60, help_text="A scheduled backup is overdue this long after its run was due without a success")
    mass_delete_count = models.PositiveIntegerField(
        default=50, help_text="A restore point that deletes at least this many objects is a mass deletion")
    mass_delete_percent = models.PositiveIntegerField(
        default=10, help_text="… or at least this share (%) of the objects of one type, of at least 10 objects")

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self):
        return "Notification settings"

    @classmethod
    def current(cls) -> "NotificationSettings":
        return cls.objects.get_or_create(pk=1)[0]


class Channel(models.Model):
    """Where notifications go: e-mail recipients (Django's mail settings) or a webhook signed with its secret."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook (signed JSON)"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                           help_text="Stable identity of this channel; its sealed secret is bound to it")
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    recipients = models.TextField(blank=True, help_text="E-mail addresses, one a line")
    url = models.URLField(max_length=500, blank=True)
    sealed_secret = SealedField(blank=True, help_text="The webhook's signing secret, sealed")
    events = models.JSONField(default=list, help_text="Events this channel is told about")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_channel", "Can send a test notification")]

    def __str__(self):
        return self.name

    def vault_binding(self) -> str:
        """What the sealed secret is bound to: this channel (its key) and the URL it signs for."""
        return vault.endpoint_binding(self.key, {name: getattr(self, name) for name in CHANNEL_ENDPOINT_FIELDS})

    @property
    def recipient_list(self) -> list[str]:
        return [line.strip() for line in self.recipients.replace(",", "\n").splitlines() if line.strip()]


class Delivery(models.Model):
    """One notification to one channel: sent, failed for good, or pending a retry (webhooks back off)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, choices=Event.choices)
    dedup_key = models.CharField(max_length=200, blank=True, db_index=True,
                                 help_text="Set for notices sent once (overdue, expiry): never twice per channel")
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=300)
    payload = models.JSONField(help_text="The JSON body without its send time")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_event_display()} -> {self.channel}"
