"""Notifications: who is told what, the deliveries, and sending them (e-mail, signed webhook).

`notify()` records one Delivery per channel that wants the event and hands them to a proxy (a django-q2
task) once the transaction commits: a session's end never waits for a mail server or a webhook. A failed
send is retried with a doubling pause (NOTIFICATION_RETRY_DELAY, at most `MAX_ATTEMPTS` tries) by the
notifications tick, which also looks for overdue schedules and expiring credentials every minute.
No secret reaches a log line or a delivery's error: errors name the class and the HTTP status only.
"""

import json
import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from audittrail.trail import record
from entrabackup import vault
from jobs.models import BackupJob, BackupSession
from jobs.schedules import next_run
from notifications import signing
from notifications.models import Channel, Delivery, Event, NotificationSettings
from notifications.security import Thresholds, security_findings
from repositories.services import repository_store
from tenants.models import Tenant

logger = logging.getLogger(__name__)
_PURPOSE = vault.purpose_of(Channel, "sealed_secret")
MAX_ATTEMPTS = 6
SEND_TIMEOUT = 10.0
CLAIM_SECONDS = 300  # a claimed delivery whose worker died is tried again after this


class ChannelError(ValueError):
    """A channel that cannot be saved as given: the message says why (never the secret)."""


# -- configuration --------------------------------------------------------------------------------------------
@transaction.atomic
def channel_save(*, channel: Channel | None = None, name: str, kind: str, recipients: str = "", url: str = "",
                 secret: str = "", events: list[str], enabled: bool = True) -> Channel:
    """Create or change a channel; a webhook's secret is sealed, bound to its URL (a new URL needs it again)."""
    channel = channel or Channel(kind=kind)
    moved = channel.pk is not None and channel.url != url
    channel.name, channel.kind, channel.enabled = name, kind, enabled
    channel.recipients, channel.url, channel.events = recipients, url, [str(e) for e in events if e in Event.values]
    if kind == Channel.Kind.EMAIL and not channel.recipient_list:
        raise ChannelError("Give at least one e-mail address.")
    if kind == Channel.Kind.WEBHOOK:
        if not url.startswith(("https://", "http://")):
            raise ChannelError("Give the webhook's URL (https://…).")
        if not secret and (moved or not channel.sealed_secret):
            raise ChannelError("Give the webhook's signing secret" + (" again: the URL changed." if moved else "."))
    added = channel.pk is None
    channel.save()
    if kind == Channel.Kind.WEBHOOK and secret:
        channel.sealed_secret = vault.seal(secret, purpose=_PURPOSE, binding=channel.vault_binding())
        channel.save(update_fields=["sealed_secret"])
    record("notification.channel_add" if added else "notification.channel_update", target=_target(channel),
           detail={"kind": kind, "events": channel.events, "enabled": enabled, "recipients": channel.recipient_list,
                   "webhook_host": urlsplit(url).hostname or "", "new_hmac": bool(secret)})
    return channel


def _target(channel: Channel) -> str:
    return f"notification channel '{channel.name}' ({channel.pk})"


@transaction.atomic
def settings_save(**thresholds) -> NotificationSettings:
    """Change the thresholds (days before an expiry, overdue grace, mass deletion's count and share)."""
    current = NotificationSettings.current()
    before = {name: getattr(current, name) for name in thresholds}
    for name, value in thresholds.items():
        setattr(current, name, value)
    current.save()
    record("notification.settings_update", target="notification thresholds",
           detail={name: [before[name], value] for name, value in thresholds.items() if before[name] != value})
    return current


# -- what happened -> deliveries -----------------------------------------------------------------------------
def absolute_url(path: str) -> str:
    """A link for a message: the path on the configured base URL (ENTRABACKUP_BASE_URL)."""
    return settings.BASE_URL.rstrip("/") + path


def notify(event: str, *, subject: str, body: dict, tenant: Tenant | None = None, dedup_key: str = "") -> list[Delivery]:
    """One Delivery per enabled channel that wants `event` (none twice for one `dedup_key`), sent after commit."""
    created = []
    for channel in Channel.objects.filter(enabled=True):
        if event != Event.TEST and event not in channel.events:
            continue
        if dedup_key and Delivery.objects.filter(channel=channel, dedup_key=dedup_key).exists():
            continue
        created.append(Delivery.objects.create(channel=channel, event=event, subject=subject[:300], tenant=tenant,
                                               dedup_key=dedup_key, payload={"event": event, "subject": subject, **body}))
    ids = [d.pk for d in created]
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    return created


def deliveries_enqueue(ids: list[int]) -> None:
    for pk in ids:
        async_task("notifications.tasks.deliver", pk, task_name=f"notification-{pk}")


def _tenant(tenant: Tenant | None) -> dict:
    return {"tenant": {"name": tenant.name, "directory_id": tenant.directory_id} if tenant else None}


NOTIFIED_STATUSES = {BackupSession.Status.FAILED, BackupSession.Status.WARNING, BackupSession.Status.INTERRUPTED}
SESSION_PAGES = {"backup": "jobs:session_detail", "log": "jobs:log_session_detail",
                 "restore": "restore:restore_session_detail"}


def session_ended(session, kind: str) -> None:
    """Where sessions end (jobs/runner.py, jobs/logrunner.py, restore/runner.py): tell about a failure or
    warnings and, after a backup, about security-relevant changes. Never raises: a notification problem
    must not fail or hold the session."""
    try:
        if session.status in NOTIFIED_STATUSES:
            _session_notice(session, kind)
        if kind == "backup" and session.restore_point_id:
            security_check(session)
    except Exception:  # noqa: BLE001 - logged with its traceback; the session's own result stands
        logger.exception("Notifications for %s session %s failed", kind, session.pk, extra={"session_id": session.pk})


def _session_notice(session, kind: str) -> list[Delivery]:
    status = session.get_status_display()
    subject = f"{kind.capitalize()} session {session.pk} of {session.tenant.name}: {status}"
    body = {**_tenant(session.tenant), "session": {"kind": kind, "id": session.pk, "status": session.status,
                                                    "error": session.error, "warnings": getattr(session, "warnings", [])},
            "link": absolute_url(reverse(SESSION_PAGES[kind], args=[session.pk]))}
    return notify(Event.SESSION, subject=subject, body=body, tenant=session.tenant)


def security_check(session: BackupSession) -> list[Delivery]:
    """Compare the session's restore point with the previous one; one notification per finding, each with
    the link to the change report between the two."""
    if not Channel.objects.filter(enabled=True, events__contains=[Event.SECURITY.value]).exists():
        return []
    tenant, repository = session.tenant, session.job.repository
    limits = NotificationSettings.current()
    with repository_store(repository) as store:
        points = [p.id for p in store.restore_points(str(tenant.key)) if p.id <= session.restore_point_id]
        if len(points) < 2:
            return []  # the first restore point: nothing to compare with
        previous, current = points[1], points[0]
        findings = security_findings(store, str(tenant.key), previous, current,
                                     Thresholds(limits.mass_delete_count, limits.mass_delete_percent))
    link = absolute_url(reverse("restore:compare_view", args=[tenant.pk])
                        + f"?from={repository.pk}:{previous}&to={repository.pk}:{current}")
    deliveries = []
    for finding in findings:
        body = {**_tenant(tenant), "finding": finding.as_dict(), "restore_points": {"previous": previous, "current": current},
                "session": {"kind": "backup", "id": session.pk}, "link": link}
        deliveries += notify(Event.SECURITY, subject=f"{tenant.name}: {finding.title}", body=body, tenant=tenant)
    return deliveries


def overdue_check(*, now=None) -> list[Delivery]:
    """Each scheduled job whose run was due more than the grace ago without a successful session since: once
    (the deduplication key is the first run due after the last success, so it changes only after a success)."""
    now = now or timezone.now()
    grace = timedelta(minutes=NotificationSettings.current().overdue_grace_minutes)
    found = []
    for job in BackupJob.objects.filter(enabled=True).exclude(schedule_kind="manual").select_related("tenant"):
        last = job.sessions.filter(status__in=[BackupSession.Status.SUCCESS, BackupSession.Status.WARNING]) \
            .order_by("-ended_at").values_list("ended_at", flat=True).first()
        due = next_run(job.schedule_kind, job.schedule_value, after=last or job.created_at, tz=settings.TIME_ZONE)
        if due is None or now <= due + grace:
            continue
        body = {**_tenant(job.tenant), "job": {"id": job.pk, "name": job.name}, "due_at": due.isoformat(),
                "last_success_at": last.isoformat() if last else None,
                "link": absolute_url(reverse("jobs:session_list"))}
        found += notify(Event.OVERDUE, subject=f"Backup overdue: {job.name} (due {due:%Y-%m-%d %H:%M} UTC)", body=body,
                        tenant=job.tenant, dedup_key=f"overdue:{job.pk}:{due.isoformat()}")
    return found


def expiry_check(*, now=None) -> list[Delivery]:
    """Each tenant whose secret or certificate expires within the configured days (or has expired): once
    per credential (the deduplication key is its expiry)."""
    now = now or timezone.now()
    horizon = now + timedelta(days=NotificationSettings.current().expiry_days)
    found = []
    for tenant in Tenant.objects.filter(credential_expires_at__lte=horizon):
        expires = tenant.credential_expires_at
        days = (expires - now).days
        when = f"expired on {expires:%Y-%m-%d}" if expires <= now else f"expires on {expires:%Y-%m-%d} (in {days} days)"
        body = {**_tenant(tenant), "credential": {"type": tenant.credential_type, "expires_at": expires.isoformat()},
                "link": absolute_url(reverse("tenants:tenant_credential", args=[tenant.pk]))}
        found += notify(Event.EXPIRY, subject=f"{tenant.name}: the {tenant.get_credential_type_display().lower()} {when}",
                        body=body, tenant=tenant, dedup_key=f"expiry:{tenant.pk}:{expires.isoformat()}")
    return found


def notifications_tick(*, now=None) -> dict:
    """The notifications' minute: overdue schedules, expiring credentials, retries that are due."""
    overdue, expiring = overdue_check(now=now), expiry_check(now=now)
    return {"overdue": len(overdue), "expiring": len(expiring), "retried": deliveries_retry_due(now=now)}


def deliveries_retry_due(*, now=None) -> list[int]:
    now = now or timezone.now()
    due = list(Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).values_list("pk", flat=True))
    deliveries_enqueue(due)
    return due


def channel_test(channel: Channel) -> Delivery:
    """Send a test message to this channel now (the page's button) and return the delivery with its result."""
    delivery = Delivery.objects.create(channel=channel, event=Event.TEST, subject="entrabackup test notification",
                                       payload={"event": Event.TEST, "subject": "entrabackup test notification",
                                                "link": absolute_url(reverse("notifications:channel_list"))})
    sent = delivery_send(delivery.pk) or delivery
    record("notification.test", target=_target(channel), result="ok" if sent.status == Delivery.Status.SENT else "failed",
           detail={"error": sent.last_error} if sent.last_error else None)
    return sent


# -- sending --------------------------------------------------------------------------------------------------
def delivery_send(delivery_id: int, *, now=None) -> Delivery | None:
    """Claim the pending delivery and send it once; None when it is not due or another worker has it."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    if not Delivery.objects.filter(due, pk=delivery_id, status=Delivery.Status.PENDING).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)):
        return None
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    delivery.attempts += 1
    try:
        _send(delivery)
    except SendError as exc:
        _failed(delivery, str(exc), now)
    else:
        delivery.status, delivery.sent_at, delivery.last_error, delivery.next_attempt_at = \
            Delivery.Status.SENT, timezone.now(), "", None
    delivery.save(update_fields=["status", "attempts", "sent_at", "last_error", "next_attempt_at"])
    return delivery


class SendError(Exception):
    """Why one send failed, safe to store and show: no URL query, no secret."""


def _failed(delivery: Delivery, reason: str, now) -> None:
    delivery.last_error = reason[:500]
    if delivery.attempts >= MAX_ATTEMPTS or delivery.event == Event.TEST:
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    logger.warning("Notification %s to channel %s failed (attempt %s): %s", delivery.pk, delivery.channel.name,
                   delivery.attempts, delivery.last_error)


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed attempt `attempt`: NOTIFICATION_RETRY_DELAY seconds, doubled each time, at most an hour."""
    return timedelta(seconds=min(3600, settings.NOTIFICATION_RETRY_DELAY * 2 ** (attempt - 1)))


def _send(delivery: Delivery) -> None:
    if delivery.channel.kind == Channel.Kind.EMAIL:
        _send_email(delivery)
    else:
        _send_webhook(delivery)


def _send_email(delivery: Delivery) -> None:
    try:
        send_mail(delivery.subject, email_text(delivery.payload), settings.DEFAULT_FROM_EMAIL,
                  delivery.channel.recipient_list)
    except Exception as exc:  # noqa: BLE001 - SMTP and socket errors alike; only the class and text are kept
        raise SendError(f"E-mail not sent: {type(exc).__name__}: {exc}") from None


def email_text(payload: dict) -> str:
    """The plain-text body of a notification e-mail."""
    lines = [payload.get("subject", "")]
    finding = payload.get("finding")
    if finding:
        lines += ["", *(f"- {d}" for d in finding["details"])]
    session = payload.get("session") or {}
    if session.get("error"):
        lines += ["", session["error"]]
    lines += [f"- {w}" for w in session.get("warnings") or []]
    if payload.get("link"):
        lines += ["", f"Details: {payload['link']}"]
    return "\n".join(lines) + "\n"


def webhook_request(delivery: Delivery, secret: str, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The raw body and the headers of one webhook send (the body carries the signed send time)."""
    stamp = int(timestamp if timestamp is not None else time.time())
    body = json.dumps({**delivery.payload, "delivery": delivery.pk, "timestamp": stamp}, sort_keys=True).encode()
    return body, {"Content-Type": "application/json", signing.EVENT_HEADER: delivery.event,
                  signing.DELIVERY_HEADER: str(delivery.pk), signing.TIMESTAMP_HEADER: str(stamp),
                  signing.SIGNATURE_HEADER: signing.signature(secret, body)}


def _send_webhook(delivery: Delivery) -> None:
    channel = delivery.channel
    try:
        secret = vault.unseal(channel.sealed_secret, purpose=_PURPOSE, binding=channel.vault_binding())
    except vault.VaultError as exc:
        raise SendError(f"The webhook's secret cannot be opened: {exc}") from None
    body, headers = webhook_request(delivery, secret)
    try:
        with httpx.Client(timeout=SEND_TIMEOUT, trust_env=False, follow_redirects=False) as client:
            response = client.post(channel.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise SendError(f"Webhook unreachable: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise SendError(f"Webhook answered HTTP {response.status_code}")
