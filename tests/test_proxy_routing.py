"""A job pinned to a proxy runs on that proxy: two real qcluster processes with different names."""

import time

import pytest
from django_q.models import Task

from jobs.models import BackupSession, Proxy
from jobs.services import session_create
from tests.support.processes import backup_proxy, wait_for


def _finished(session_id: int) -> BackupSession | None:
    session = BackupSession.objects.get(pk=session_id)
    return session if session.finished else None


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_pinned_session_waits_for_its_proxy_runs_there_and_is_never_bounced(backed_tenant):
    tenant, job, _ = backed_tenant
    with backup_proxy(name="proxy-a"):  # proxy-a registers itself, then goes away
        proxy_a = wait_for(lambda: Proxy.objects.filter(name="proxy-a").first(), 30)
        assert proxy_a is not None, "proxy-a never registered itself"
    with backup_proxy(name="proxy-b") as b:
        wait_for(lambda: Proxy.objects.filter(name="proxy-b").exists(), 30, message="proxy-b never registered")
        shared = session_create(job=job, object_types=["user"])  # not pinned: any proxy takes it
        assert wait_for(lambda: _finished(shared.pk)).proxy_name.startswith("proxy-b (pid ")
        job.proxy = proxy_a
        job.save()
        pinned = session_create(job=job, object_types=["user"])
        time.sleep(4)  # proxy-b polls every 0.2 s: it would have taken the session by now
        assert BackupSession.objects.get(pk=pinned.pk).status == "queued"
        assert b.poll() is None
        with backup_proxy(name="proxy-a"):
            session = wait_for(lambda: _finished(pinned.pk))
    assert session is not None, "the pinned session did not finish on proxy-a"
    assert session.status == "success", session.error
    assert session.proxy_name.startswith("proxy-a (pid ")
    assert "Queued for proxy proxy-a, which is not reporting" not in session.log  # proxy-a reported a moment ago
    runs = Task.objects.filter(func="jobs.tasks.run_backup_session", name=f"backup-session-{pinned.pk}")
    assert [task.result for task in runs] == ["success"]  # one run, no task handed back to the queue
    assert Task.objects.filter(func="jobs.tasks.run_backup_session").count() == 2
