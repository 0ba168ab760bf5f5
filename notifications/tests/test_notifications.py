"""Notifications without the emulator: a failed session, an overdue schedule, an expiring secret, signatures
a receiver must refuse, and the page (channels, thresholds, the test button) with its permissions."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audittrail.models import Entry
from entrabackup import graph
from jobs.models import BackupJob, BackupSession
from jobs.runner import session_run
from jobs.services import job_create, sessions_fail_over
from notifications import signing
from notifications.models import Channel, Delivery, Event, NotificationSettings
from notifications.services import channel_save, notifications_tick, webhook_request
from tenants.services import tenant_create
from tests.support.repositories import closed_port
from tests.support.webhooks import SECRET, Receiver

BASE = "https://backup.example.test"


@pytest.fixture
def sync_tasks(monkeypatch, settings):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    settings.BASE_URL = BASE


@pytest.fixture
def tick(sync_tasks, django_capture_on_commit_callbacks):
    """The notifications tick, its deliveries sent as their commit would send them."""
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return notifications_tick(**kwargs)
    return run


def _tenant(name="Fabrikam", **fields):
    port = closed_port()
    return tenant_create(name=name, directory_id=f"{name.lower()}.example", client_id="11111111-2222-3333-4444-555555555555",
                         credential=graph.ClientSecret("s3cret-value"), cloud="custom",
                         authority_url=f"https://127.0.0.1:{port}", graph_url=f"https://127.0.0.1:{port}", **fields)


def _mail_channel(*events):
    return channel_save(name="Ops", kind="email", recipients="ops@example.test\nlead@example.test", events=list(events))


@pytest.mark.django_db(transaction=True)
def test_a_failed_session_is_mailed_with_its_error_and_a_link_to_the_session(sync_tasks, clean_repository_database):
    _mail_channel(Event.SESSION)
    job = job_create(tenant=_tenant(), retries=0)
    session = session_run(session_id=BackupSession.objects.create(job=job, tenant=job.tenant).pk)
    assert session.status == "failed"
    [message] = mail.outbox
    assert message.to == ["ops@example.test", "lead@example.test"]
    assert message.subject == f"Backup session {session.pk} of Fabrikam: Failed"
    assert session.error in message.body and f"{BASE}/jobs/sessions/{session.pk}/" in message.body
    assert "s3cret-value" not in message.body


@pytest.mark.django_db
def test_an_overdue_schedule_notifies_once_per_missed_run_not_every_tick(tick):
    _mail_channel(Event.OVERDUE)
    job = job_create(tenant=_tenant(), schedule_kind="hours", schedule_value="1")
    BackupJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=3))
    for _ in range(3):
        tick()
    assert len(mail.outbox) == 1 and "Backup overdue: Fabrikam directory backup" in mail.outbox[0].subject
    # A success, then the next run missed as well: a new notice for that run.
    BackupSession.objects.create(job=job, tenant=job.tenant, status="success",
                                 ended_at=timezone.now() - timedelta(hours=2, minutes=30))
    tick()
    assert len(mail.outbox) == 2
    tick()
    assert len(mail.outbox) == 2
    NotificationSettings.objects.filter(pk=1).update(overdue_grace_minutes=600)
    BackupSession.objects.create(job=job, tenant=job.tenant, status="success", ended_at=timezone.now())
    tick(now=timezone.now() + timedelta(hours=2))  # due an hour ago, within the grace
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_secret_about_to_expire_notifies_once_within_the_configured_days(tick):
    _mail_channel(Event.EXPIRY)
    tenant = _tenant(secret_expires_at=timezone.now() + timedelta(days=20))
    _tenant("Later", secret_expires_at=timezone.now() + timedelta(days=90))
    tick()
    tick()
    [message] = mail.outbox
    assert message.subject.startswith("Fabrikam: the client secret expires on ")
    assert f"{BASE}/tenants/{tenant.pk}/credential/" in message.body
    NotificationSettings.objects.filter(pk=1).update(expiry_days=100)
    tick()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Fabrikam", "Later"]


@pytest.mark.django_db
def test_a_receiver_refuses_a_tampered_body_a_wrong_secret_and_a_replayed_request():
    channel = Channel.objects.create(name="Hook", kind="webhook", url="https://hooks.example.test/x")
    delivery = Delivery.objects.create(channel=channel, event=Event.TEST, subject="s", payload={"event": "test"})
    body, headers = webhook_request(delivery, SECRET, timestamp=1_800_000_000)
    signing.verify(SECRET, body, headers, now=1_800_000_010)
    failures = {
        "bad signature": (SECRET, body.replace(b'"test"', b'"tset"'), headers, 1_800_000_010),
        "bad signature ": ("another-secret", body, headers, 1_800_000_010),
        "timestamp too old: a replay?": (SECRET, body, headers, 1_800_000_000 + 301),
        "timestamp missing or not the signed one": (SECRET, body, {**headers, signing.TIMESTAMP_HEADER: "1800000005"},
                                                    1_800_000_010),
    }
    for reason, (secret, raw, sent, now) in failures.items():
        with pytest.raises(signing.SignatureError, match=reason.strip()):
            signing.verify(secret, raw, sent, now=now)
    assert json.loads(body)["timestamp"] == int(headers[signing.TIMESTAMP_HEADER])


@pytest.mark.django_db
def test_an_administrator_adds_a_webhook_sends_a_test_and_never_sees_the_secret_again(client, admin_persona,
                                                                                      viewer_persona, settings):
    settings.BASE_URL = BASE
    receiver = Receiver()
    try:
        client.force_login(admin_persona)
        response = client.post(reverse("notifications:channel_add"), {
            "name": "SIEM", "kind": "webhook", "url": receiver.url, "secret": SECRET,
            "events": [Event.SECURITY, Event.SESSION], "enabled": "on"})
        assert response.status_code == 302
        channel = Channel.objects.get()
        assert channel.sealed_secret and SECRET not in channel.sealed_secret
        response = client.post(reverse("notifications:channel_test", args=[channel.pk]), follow=True)
        assert "Test message sent to &#x27;SIEM&#x27;." in response.content.decode()
        [(headers, body, error)] = receiver.received
        assert error is None and body["event"] == "test" and headers[signing.EVENT_HEADER] == "test"
        page = client.get(reverse("notifications:channel_edit", args=[channel.pk])).content.decode()
        assert SECRET not in page and "A signing secret is set" in page
        # A new URL without the secret again is refused: the sealed secret is bound to the URL.
        response = client.post(reverse("notifications:channel_edit", args=[channel.pk]), {
            "name": "SIEM", "kind": "webhook", "url": "https://elsewhere.example.test/", "events": [Event.SECURITY]})
        assert "Give the webhook&#x27;s signing secret again: the URL changed." in response.content.decode()
        response = client.post(reverse("notifications:settings_update"), {
            "expiry_days": 14, "overdue_grace_minutes": 30, "mass_delete_count": 20, "mass_delete_percent": 150})
        assert NotificationSettings.current().mass_delete_percent == 10  # refused: a share is at most 100 %
        client.post(reverse("notifications:settings_update"), {
            "expiry_days": 14, "overdue_grace_minutes": 30, "mass_delete_count": 20, "mass_delete_percent": 15})
        assert NotificationSettings.current().expiry_days == 14
    finally:
        receiver.close()
    trail = {e.action: e for e in Entry.objects.filter(action__startswith="notification.")}
    assert set(trail) == {"notification.channel_add", "notification.test", "notification.settings_update"}
    assert trail["notification.channel_add"].username == "alice" and trail["notification.test"].result == "ok"
    assert trail["notification.settings_update"].detail["expiry_days"] == [30, 14]
    assert SECRET not in json.dumps([e.detail for e in trail.values()])
    client.force_login(viewer_persona)
    assert client.get(reverse("notifications:channel_list")).status_code == 403
    assert client.post(reverse("notifications:channel_test", args=[channel.pk])).status_code == 403


@pytest.mark.django_db
def test_a_test_to_a_webhook_that_is_down_fails_with_a_reason_that_holds_no_secret(client, admin_persona, caplog):
    channel = channel_save(name="Down", kind="webhook", url=f"http://127.0.0.1:{closed_port()}/?token=abc",
                           secret=SECRET, events=[Event.SESSION])
    client.force_login(admin_persona)
    page = client.post(reverse("notifications:channel_test", args=[channel.pk]), follow=True).content.decode()
    assert "failed: Webhook unreachable: ConnectError" in page
    assert Delivery.objects.get().status == "failed"
    assert SECRET not in caplog.text and "token=abc" not in caplog.text


@pytest.mark.django_db
def test_a_webhook_that_is_down_is_tried_again_only_after_its_pause(tick, caplog):
    channel = channel_save(name="Down", kind="webhook", url=f"http://127.0.0.1:{closed_port()}/", secret=SECRET,
                           events=[Event.EXPIRY])
    _tenant(secret_expires_at=timezone.now() + timedelta(days=3))
    tick()
    [delivery] = Delivery.objects.filter(channel=channel)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "Webhook unreachable: ConnectError")
    assert delivery.next_attempt_at - timezone.now() > timedelta(seconds=25)  # 30 s after the first failure
    tick()
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1  # not before its pause
    assert f"Notification {delivery.pk} to channel Down failed (attempt 1)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_notification_that_breaks_never_changes_the_session_it_is_about(sync_tasks, clean_repository_database,
                                                                          monkeypatch, caplog):
    _mail_channel(Event.SESSION)
    job = job_create(tenant=_tenant(), retries=0)

    def broken(*args, **kwargs):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr("notifications.services.notify", broken)
    session = session_run(session_id=BackupSession.objects.create(job=job, tenant=job.tenant).pk)
    assert session.status == "failed" and "mail server on fire" not in session.error
    assert f"Notifications for backup session {session.pk} failed" in caplog.text


@pytest.mark.django_db
def test_a_session_interrupted_by_a_lost_proxy_is_notified(sync_tasks, django_capture_on_commit_callbacks):
    _mail_channel(Event.SESSION)
    job = job_create(tenant=_tenant(), retries=0)
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status="running", proxy_name="gone",
                                           heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        sessions_fail_over()
    [message] = mail.outbox
    assert message.subject == f"Backup session {session.pk} of Fabrikam: Interrupted"
    assert "The proxy gone stopped reporting" in message.body
