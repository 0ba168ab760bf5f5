"""Throttling (off by default) and fault injection (off by default, deterministic by seed)."""

from __future__ import annotations

import ssl

import httpx
import pytest


def test_throttling_is_off_by_default_but_resource_units_are_reported(fresh):
    g = fresh(users=10)
    r = g.get("/v1.0/users")
    assert r.status_code == 200 and r.headers["x-ms-resource-unit"] == "2"
    assert g.get("/v1.0/users?$select=id").headers["x-ms-resource-unit"] == "1"


def test_resource_unit_bucket_answers_429_with_fractional_retry_after_and_real_body(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, throttling={"enabled": True, "ru_per_10s": 6})
    statuses = [g.get("/v1.0/users") for _ in range(5)]
    limited = next(r for r in statuses if r.status_code == 429)
    retry = limited.headers["Retry-After"]
    assert "." in retry and float(retry) > 0
    err = limited.json()["error"]
    assert err["code"] == "TooManyRequests" and err["message"] == "Please retry again later."
    assert err["innerError"]["status"] == "429" and limited.headers["x-ms-throttle-information"] == \
        "ResourceUnitLimitExceeded"
    assert limited.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Read/")


def test_conditional_access_is_limited_to_one_request_per_second_without_retry_after(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, throttling={"enabled": True})
    first = g.get("/v1.0/identity/conditionalAccess/policies")
    second = g.get("/v1.0/identity/conditionalAccess/namedLocations")
    assert first.status_code == 200 and second.status_code == 429
    assert "Retry-After" not in second.headers


def test_reports_are_limited_to_five_requests_per_ten_seconds(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, throttling={"enabled": True})
    codes = [g.get("/v1.0/auditLogs/directoryAudits").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_batch_sub_requests_are_throttled_individually(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, throttling={"enabled": True})
    reqs = [{"id": str(i), "method": "GET", "url": "/identity/conditionalAccess/policies"} for i in range(2)]
    r = g.http.post("/v1.0/$batch", json={"requests": reqs})
    assert r.status_code == 200
    assert sorted(x["status"] for x in r.json()["responses"]) == [200, 429]


@pytest.mark.parametrize("fault", ["error_rate", "reset_rate", "truncate_rate"])
def test_each_fault_type_can_be_injected(fresh, emu, fault):
    g = fresh(users=10)
    emu.control.configure(g.tid, faults={fault: 1.0, "seed": 3})
    if fault == "error_rate":
        r = g.get("/v1.0/users")
        assert r.status_code in (503, 504)
        return
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError, ssl.SSLError)):
        g.get("/v1.0/users")
        raise AssertionError("request should have failed")


def test_slow_responses_wait_the_configured_time(fresh, emu):
    import time

    g = fresh(users=10)
    emu.control.configure(g.tid, faults={"slow_rate": 1.0, "slow_seconds": 0.3})
    start = time.monotonic()
    assert g.get("/v1.0/users").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_faults_are_deterministic_for_a_seed(fresh, emu):
    g = fresh(users=10)

    def run():
        emu.control.configure(g.tid, faults={"error_rate": 0.5, "seed": 42})
        return [g.get("/v1.0/domains").status_code for _ in range(12)]

    first = run()
    assert first == run() and 200 in first and any(c >= 500 for c in first)


def test_a_short_resource_unit_window_makes_a_storm_of_short_429s(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, throttling={"enabled": True, "ru_per_10s": 4, "ru_window_seconds": 0.5})
    statuses = [g.get("/v1.0/users") for _ in range(6)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and all(0 < float(r.headers["Retry-After"]) <= 0.5 for r in limited)
