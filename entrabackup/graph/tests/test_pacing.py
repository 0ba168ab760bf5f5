"""Token-bucket math, documented resource-unit costs, shared registry, and the client using them."""

import threading
import time

import httpx
import pytest

from entrabackup.graph import PacingLimits, pacer_for
from entrabackup.graph.pacing import Pacer, SlidingWindow, TokenBucket, resource_unit_cost, split_query

from .conftest import page


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_up_to_capacity_then_asks_to_wait():
    clock = Clock()
    bucket = TokenBucket(10, 10, clock=clock)  # 1 token per second
    assert [bucket.reserve(1) for _ in range(10)] == [0.0] * 10
    assert bucket.reserve(1) == pytest.approx(1.0)
    assert bucket.reserve(2) == pytest.approx(3.0)  # reservations queue up behind each other
    clock.now += 3
    assert bucket.reserve(1) == pytest.approx(1.0)


def test_bucket_refills_with_time_but_not_beyond_capacity():
    clock = Clock()
    bucket = TokenBucket(5, 10, clock=clock)
    bucket.reserve(5)
    clock.now += 100
    assert bucket.available() == 5


def test_pause_blocks_everyone_sharing_the_bucket():
    clock = Clock()
    bucket = TokenBucket(100, 10, clock=clock)
    bucket.pause(2.5)
    assert bucket.reserve(1) == pytest.approx(2.5)


def test_adjust_refunds_when_the_server_charged_less():
    clock = Clock()
    bucket = TokenBucket(10, 10, clock=clock)
    bucket.reserve(10)
    bucket.adjust(3)
    assert bucket.available() == 3


@pytest.mark.parametrize(
    ("method", "path", "query", "cost", "write"),
    [
        ("GET", "users", "", 2, False),
        ("GET", "users", "$select=id,displayName&$top=999", 1, False),
        ("GET", "users/delta", "", 2, False),
        ("GET", "groups/g1/members", "", 3, False),
        ("GET", "groups/g1/members", "$select=id", 2, False),
        ("GET", "groups/g1/transitiveMembers", "", 5, False),
        ("GET", "groups/g1/transitiveMembers", "$expand=manager", 6, False),
        ("GET", "oauth2PermissionGrants", "", 2, False),
        ("GET", "applications", "", 2, False),
        ("GET", "devices", "", 1, False),
        ("GET", "devices", "$select=id&$top=5", 1, False),  # minimum 1
        ("GET", "groups", "$top=10", 1, False),
        ("POST", "users", "", 1, True),
        ("PATCH", "users/u1", "", 1, True),
        ("DELETE", "groups/g1", "", 1, True),
        ("POST", "directoryObjects/getByIds", "", 3, False),
    ],
)
def test_resource_unit_costs_follow_the_documented_table(method, path, query, cost, write):
    assert resource_unit_cost(method, tuple(path.split("/")), split_query(query)) == (cost, write)


def test_audit_logs_and_conditional_access_use_their_own_request_budgets():
    pacer = Pacer(PacingLimits(), {"conditional_access": TokenBucket(1, 1), "key_credentials": TokenBucket(150, 60)})
    waits = [pacer.charge("GET", ("auditLogs", "signIns"), {})[1] for _ in range(6)]
    # 5 in any 10 s: the 6th waits for the 1st to leave the window (not 2 s, as a token bucket would let it)
    assert waits[:5] == [0.0] * 5 and waits[5] == pytest.approx(10.0 + SlidingWindow.MARGIN, abs=0.05)
    ca = [pacer.charge("GET", ("identity", "conditionalAccess", "policies"), {})[1] for _ in range(3)]
    assert ca[0] == 0.0 and ca[1] == pytest.approx(1.0, abs=0.05) and ca[2] == pytest.approx(2.0, abs=0.05)
    assert pacer.ru.available() == pytest.approx(3500)  # untouched


def test_writes_also_consume_the_write_quota():
    pacer = pacer_for("t", "a", PacingLimits(writes=2, write_period=150))
    waits = [pacer.charge("POST", ("users",), {})[1] for _ in range(3)]
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(75, abs=0.1)


def test_settle_uses_the_servers_actual_resource_units():
    pacer = pacer_for("t", "a")
    charge, _ = pacer.charge("GET", ("groups", "g", "transitiveMembers"), {})
    before = pacer.ru.available()
    pacer.settle(charge, 1)
    assert pacer.ru.available() == pytest.approx(min(3500, before + 4), abs=1)


def test_pacers_are_shared_per_tenant_and_app_and_conditional_access_per_tenant():
    assert pacer_for("T1", "A1") is pacer_for("t1", "a1")
    assert pacer_for("t1", "a2") is not pacer_for("t1", "a1")
    assert pacer_for("t1", "a2").conditional_access is pacer_for("t1", "a1").conditional_access


def test_tenant_size_tiers():
    assert PacingLimits.for_tenant_size(10).resource_units == 3500
    assert PacingLimits.for_tenant_size(200).resource_units == 5000
    assert PacingLimits.for_tenant_size(100_000).resource_units == 8000


def test_bucket_is_thread_safe():
    bucket = TokenBucket(1000, 10)
    threads = [threading.Thread(target=lambda: [bucket.reserve(1) for _ in range(250)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bucket.available() == pytest.approx(-1000, abs=5)  # every reservation counted exactly once


def test_pacing_costs_microseconds_when_far_from_the_limit():
    pacer = pacer_for("t", "fast", PacingLimits(resource_units=10**9))
    started = time.perf_counter()
    for _ in range(20_000):
        pacer.charge("GET", ("users",), {"$select": "id", "$top": "999"})
    assert (time.perf_counter() - started) / 20_000 < 50e-6


def test_client_paces_before_sending_and_counts_the_wait(make_client, sleeps):
    def handler(request):
        return httpx.Response(200, json=page([{"id": "1"}]), headers={"x-ms-resource-unit": "2"})

    client = make_client(handler, pacing=PacingLimits(resource_units=4, resource_unit_period=10))
    for _ in range(3):
        client.get("/users")  # 2 RU each against a 4 RU / 10 s budget
    assert sleeps.sleeps == [pytest.approx(5.0, abs=0.1)]
    assert client.stats.wait_seconds_pacing == pytest.approx(5.0, abs=0.1)
    assert client.stats.resource_units == 6


def test_a_429_pauses_the_shared_bucket(make_client, sleeps):
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})])
    client = make_client(lambda r: next(answers), pacing=True)
    client.get("/users/1")
    assert pacer_for("tenant-1", "app-1").ru.reserve(0) > 2.5  # others wait out the Retry-After too
