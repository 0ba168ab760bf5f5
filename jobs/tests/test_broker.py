"""A proxy takes tasks from the shared queue and from the queue named after itself, never another's."""

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ

from jobs.broker import ProxyBroker


@pytest.mark.django_db
def test_a_proxy_dequeues_the_shared_queue_and_its_own_but_not_another_proxys():
    past = timezone.now() - timezone.timedelta(seconds=1)
    ids = {key: OrmQ.objects.create(key=key, payload=key, lock=past).pk
           for key in ("entrabackup", settings.PROXY_NAME, "some-other-proxy")}
    broker = get_broker()
    assert isinstance(broker, ProxyBroker)
    assert broker.queue_size() == 2
    taken = []
    while (batch := broker.dequeue()) is not None:  # one task at a time (Q_CLUSTER bulk)
        taken += [pk for pk, _ in batch]
    assert sorted(taken) == sorted([ids["entrabackup"], ids[settings.PROXY_NAME]])  # not another proxy's
