"""The backup proxies' broker: django-q2's ORM broker, with a queue of its own for each proxy.

A proxy takes tasks from the shared queue (named like the site, `Q_CLUSTER["name"]`) and from the queue
named after itself (`ENTRABACKUP_PROXY_NAME`), so `async_task(..., cluster=<proxy name>)` reaches that
proxy and no other. django-q2 itself gives a cluster one queue (`cluster_name`), but a cluster renamed
after its proxy would leave the shared queue and the site's schedules (the scheduler tick) to nobody.

The same broker registers its proxy: every status report the cluster writes (about every 0.5 s) goes
through `set_stat`, and every few seconds it also records the proxy's row with a fresh heartbeat.
"""

import time

from django.conf import settings
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.signing import BadSignature, SignedPackage

from jobs.services import proxy_report

REPORT_EVERY = 5.0  # seconds between two writes of the proxy's row


class ProxyBroker(ORM):
    _next_report = 0.0  # a class default: django-q2 pickles a broker with its queue name only

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys([self.list_key, settings.PROXY_NAME]))

    def _waiting(self):
        return self.get_connection().filter(key__in=self.keys)

    def queue_size(self) -> int:
        return self._waiting().filter(lock__lte=timezone.now()).count()

    def lock_size(self) -> int:
        return self._waiting().filter(lock__gt=timezone.now()).count()

    def dequeue(self):
        tasks = list(self._waiting().filter(lock__lt=timezone.now()).order_by("id")[:Conf.BULK])
        # Claimed with a conditional update: another proxy may take the same task at the same moment.
        claimed = [(task.pk, task.payload) for task in tasks
                   if self.get_connection().filter(id=task.id, lock=task.lock).update(lock=self.timeout(task))]
        if not tasks:
            time.sleep(Conf.POLL)  # an empty queue: spare the database
        return claimed or None

    def set_stat(self, key: str, value: str, timeout: int):
        super().set_stat(key, value, timeout)
        if time.monotonic() < self._next_report:
            return
        try:
            stat = SignedPackage.loads(value)
        except BadSignature:
            return
        proxy_report(name=settings.PROXY_NAME, stat=stat)
        self._next_report = time.monotonic() + REPORT_EVERY
