"""Notifications end to end: backups of an emulated tenant before and after attacks played through Microsoft
Graph by a rogue application, a real HTTP receiver (http.server on loopback) that checks every signature as
docs/notifications.md tells a receiver to, Django's mail outbox, and a webhook that is down at first."""

import time

import pytest
from django.core import mail

from jobs.models import BackupSession
from jobs.runner import session_run
from notifications import security
from notifications.models import Channel, Delivery, Event, NotificationSettings
from notifications.services import channel_save, notifications_tick
from tests.support import attacks
from tests.support.repositories import closed_port
from tests.support.webhooks import SECRET, Receiver

pytestmark = [pytest.mark.e2e]
BASE = "https://backup.example.test"


@pytest.fixture
def sync_tasks(monkeypatch, settings):
    """django-q2 tasks run inline (as a proxy would run them), and links use a known base URL."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    settings.BASE_URL, settings.NOTIFICATION_RETRY_DELAY = BASE, 1.0


def _spare(truth: dict) -> dict:
    """The tenant without the users and groups Conditional Access policies name (deleting those would change
    the policies too)."""
    named = {ref for p in truth["conditionalAccessPolicies"] for ids in p["conditions"]["users"].values()
             if isinstance(ids, list) for ref in ids}
    return {**truth, "users": [u for u in truth["users"] if u["id"] not in named],
            "groups": [g for g in truth["groups"] if g["id"] not in named]}


def _backup(job, tenant) -> BackupSession:
    session = session_run(session_id=BackupSession.objects.create(job=job, tenant=tenant).pk)
    assert session.status in ("success", "warning"), session.log
    return session


@pytest.mark.django_db(transaction=True)
def test_a_backup_after_attacks_sends_one_signed_notification_per_finding_and_retries_a_webhook_that_was_down(
        backed_tenant, emulator, receiver, sync_tasks, caplog):
    tenant, job, info = backed_tenant
    tid = info["tenant_id"]
    NotificationSettings.objects.update_or_create(pk=1, defaults={"mass_delete_count": 5})
    channel_save(name="Security team", kind="email", recipients="soc@example.test", events=[Event.SECURITY])
    channel_save(name="SIEM", kind="webhook", url=receiver.url, secret=SECRET, events=[Event.SECURITY])
    down_port = closed_port()
    down = channel_save(name="Pager (down)", kind="webhook", url=f"http://127.0.0.1:{down_port}/hook", secret=SECRET,
                        events=[Event.SECURITY])
    first = _backup(job, tenant)
    assert receiver.received == [] and mail.outbox == []  # the first restore point has nothing to compare with

    truth = emulator.control.export(tid)
    attacker = attacks.GraphApp.register(emulator.url, emulator.ca_path, emulator.control, tid, attacks.ATTACKER_ROLES)
    try:
        attacks.weaken_conditional_access(attacker, truth)
        attacks.add_application_credential(attacker, truth)
        admin = attacks.new_global_admin(attacker, truth)
        attacks.mass_deletion(attacker, _spare(truth), users=5, groups=1)
    finally:
        attacker.close()
    second = _backup(job, tenant)

    kinds = sorted(body["finding"]["kind"] for _, body, _ in receiver.received)
    assert kinds == sorted([security.CA_WEAKENED, security.CA_WEAKENED, security.CREDENTIAL_ADDED,
                            security.GLOBAL_ADMIN, security.MASS_DELETION])
    assert [error for _, _, error in receiver.received] == [None] * 5  # every signature and timestamp verified
    link = (f"{BASE}/restore/tenants/{tenant.pk}/compare/?from={job.repository.pk}:{first.restore_point_id}"
            f"&to={job.repository.pk}:{second.restore_point_id}")
    assert {body["link"] for _, body, _ in receiver.received} == {link}
    ga = next(body for _, body, _ in receiver.received if body["finding"]["kind"] == security.GLOBAL_ADMIN)
    assert ga["finding"]["objects"][0]["id"] == admin.created["user"][0] and "Sync Service" in ga["subject"]
    assert len(mail.outbox) == 5 and all(m.to == ["soc@example.test"] and link in m.body for m in mail.outbox)

    # The pager's webhook was down: the session still succeeded, and each delivery waits for a retry.
    pending = Delivery.objects.filter(channel=down)
    assert pending.count() == 5 and {(d.status, d.attempts) for d in pending} == {("pending", 1)}
    assert all(d.last_error == "Webhook unreachable: ConnectError" for d in pending)
    assert BackupSession.objects.get(pk=second.pk).status == "success"
    assert all(d.next_attempt_at > d.created_at for d in pending)  # each waits out its pause
    back = Receiver(down_port)  # the pager comes back on its address
    try:
        time.sleep(1.2)
        notifications_tick()
        assert len(back.received) == 5 and [e for _, _, e in back.received] == [None] * 5
    finally:
        back.close()
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(channel=down)} == {("sent", 2)}
    assert SECRET not in caplog.text and not Delivery.objects.filter(last_error__contains=SECRET).exists()
    assert Channel.objects.filter(sealed_secret__contains=SECRET).count() == 0
