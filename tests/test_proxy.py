"""A backup proxy is a real django-q2 cluster: tasks enqueued by the server run there."""

import os

import pytest
from django.utils.html import escape
from django_q.models import Task
from django_q.status import Stat
from django_q.tasks import async_task, result

from jobs.models import Proxy
from tests.support.processes import backup_proxy, wait_for


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_task_enqueued_runs_on_a_real_qcluster_and_its_result_is_stored():
    with backup_proxy() as proxy:
        task_id = async_task("jobs.tasks.proxy_ping", "ping-1")
        answer = result(task_id, wait=30_000)
        assert proxy.poll() is None, proxy.stderr.read()
    assert answer is not None, "the proxy did not run the task within 30 s"
    assert answer["token"] == "ping-1"
    assert answer["pid"] != os.getpid()  # it ran in the proxy, not inline in the test
    task = Task.objects.get(id=task_id)
    assert task.success and task.func == "jobs.tasks.proxy_ping"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_running_proxy_is_visible_through_the_cache_and_on_the_sessions_page(client, admin_persona):
    with backup_proxy(workers=2):
        stats = wait_for(lambda: [stat for stat in Stat.get_all() if len(stat.workers) == 2])
        assert stats, "the cluster never reported itself with its 2 workers in the cache"
        # The Sessions page shows proxies from their heartbeat rows (jobs.Proxy), written by the proxy itself.
        beating = wait_for(lambda: list(Proxy.objects.filter(cluster_id=str(stats[0].cluster_id),
                                                             heartbeat_at__isnull=False)))
        assert beating, "the proxy never wrote its heartbeat row"
        client.force_login(admin_persona)
        page = client.get("/jobs/sessions/").content.decode()
        assert escape(beating[0].name) in page and "healthy" in page
