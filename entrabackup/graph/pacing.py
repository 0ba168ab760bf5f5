"""Client-side pacing so that a healthy run rarely meets a 429.

Limits and costs from https://learn.microsoft.com/graph/throttling-limits:
identity and access = token bucket of resource units (RU) per app+tenant (3,500 / 5,000 / 8,000 per 10 s for
S / M / L tenants) plus 3,000 writes per 150 s; reports (audit logs) 5 requests per 10 s per app+tenant;
Conditional Access and identity protection 1 request per second per tenant for all apps;
``servicePrincipals?$select=keyCredentials`` 150 requests per minute per tenant.

Buckets are shared by every client of the same tenant+app in this process (``pacer_for``), thread-safe,
and cost a lock and a few float operations per request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

# GET base costs that differ from 1 RU, by path shape ("*" = any one segment).
_GET_COSTS: dict[tuple[str, ...], int] = {
    ("users",): 2,
    ("users", "*"): 2,
    ("applications",): 2,
    ("applications", "*"): 2,
    ("applications", "*", "extensionProperties"): 2,
    ("contracts",): 3,
    ("domains", "*", "domainNameReferences"): 4,
    ("groups", "*", "members"): 3,
    ("groups", "*", "members", "*"): 3,
    ("groups", "*", "transitiveMembers"): 5,
    ("groups", "*", "transitiveMembers", "*"): 5,
    ("oauth2PermissionGrants",): 2,
    ("servicePrincipals", "*", "appRoleAssignments"): 2,
    ("subscribedSkus",): 3,
}
# POSTs that are reads (cost RU, no write quota).
_READ_POSTS: dict[tuple[str, ...], int] = {
    ("directoryObjects", "getByIds"): 3,
    ("directoryObjects", "microsoft.graph.getByIds"): 3,
    ("getObjectsById",): 3,
}


@dataclass(frozen=True)
class PacingLimits:
    """Budgets per window; the defaults are the smallest tenant tier so nobody is throttled by surprise."""

    resource_units: float = 3500
    resource_unit_period: float = 10
    writes: float = 3000
    write_period: float = 150
    reports: float = 5
    report_period: float = 10
    conditional_access: float = 1
    conditional_access_period: float = 1
    key_credentials: float = 150
    key_credentials_period: float = 60

    @classmethod
    def for_tenant_size(cls, users: int) -> PacingLimits:
        """The documented RU tier for a tenant with ``users`` users (S < 50 <= M <= 500 < L)."""
        return cls(resource_units=3500 if users < 50 else 5000 if users <= 500 else 8000)


class TokenBucket:
    """A token bucket that hands out reservations: callers may go into debt and are told how long to wait."""

    def __init__(self, capacity: float, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / period
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self, cost: float) -> float:
        """Take ``cost`` tokens now; return the seconds the caller must wait before sending."""
        with self._lock:
            now = self._refill()
            self._tokens -= cost
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(wait, self._paused_until - now)

    def adjust(self, delta: float) -> None:
        """Give back (positive) or take (negative) tokens after the server told us the real cost."""
        with self._lock:
            self._refill()
            self._tokens = min(self.capacity, self._tokens + delta)

    def pause(self, seconds: float) -> None:
        """The server throttled us: nobody sharing this bucket sends for ``seconds`` and the bucket starts empty."""
        with self._lock:
            now = self._refill()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = min(self._tokens, 0.0)

    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now


class SlidingWindow:
    """At most ``capacity`` sends in any ``period`` seconds, as Graph counts the reports budget ("5 requests per
    10 seconds"): a token bucket would let a 6th request through 2 s after a burst of 5, and Graph refuses it.
    Same interface as TokenBucket; each reservation books a send time, later callers queue behind it."""

    MARGIN = 0.25  # seconds: a request reaches Graph a little after we send it, and not always equally late

    def __init__(self, capacity: float, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = max(1, int(capacity))
        self.period = float(period)
        self.rate = self.capacity / self.period
        self._clock = clock
        self._sends: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self, cost: float) -> float:
        with self._lock:
            now = self._prune()
            at = max(now, self._paused_until)
            if len(self._sends) >= self.capacity:
                at = max(at, self._sends[-self.capacity] + self.period + self.MARGIN)
            self._sends.append(at)
            return at - now

    def adjust(self, delta: float) -> None:
        """Request counts are exact; nothing to correct."""

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def available(self) -> float:
        with self._lock:
            now = self._prune()
            return float(self.capacity - sum(1 for t in self._sends if t > now - self.period))

    def _prune(self) -> float:
        now = self._clock()
        while self._sends and self._sends[0] <= now - self.period - self.MARGIN:
            self._sends.popleft()
        return now


@dataclass
class Charge:
    """What one request took from which buckets, so it can be corrected or paused afterwards."""

    cost: int
    buckets: tuple[TokenBucket, ...]
    resource_units: bool  # cost is in RU (identity & access); False = a request count (reports, CA)


class Pacer:
    """All buckets of one tenant+app."""

    def __init__(self, limits: PacingLimits, tenant_buckets: dict[str, TokenBucket], clock=time.monotonic) -> None:
        self.limits = limits
        self.ru = TokenBucket(limits.resource_units, limits.resource_unit_period, clock=clock)
        self.writes = TokenBucket(limits.writes, limits.write_period, clock=clock)
        self.reports = SlidingWindow(limits.reports, limits.report_period, clock=clock)
        self.conditional_access = tenant_buckets["conditional_access"]
        self.key_credentials = tenant_buckets["key_credentials"]

    def charge(self, method: str, segments: tuple[str, ...], query: dict[str, str]) -> tuple[Charge, float]:
        """Reserve the cost of one request; returns the charge and the seconds to wait before sending it."""
        charge = self.classify(method, segments, query)
        wait = 0.0
        for bucket in charge.buckets:
            wait = max(wait, bucket.reserve(charge.cost if bucket is self.ru else 1))
        return charge, wait

    def classify(self, method: str, segments: tuple[str, ...], query: dict[str, str]) -> Charge:
        budget = budget_of(segments)
        if budget == "reports":
            return Charge(1, (self.reports,), False)
        if budget == "conditional_access":
            return Charge(1, (self.conditional_access,), False)
        cost, write = resource_unit_cost(method, segments, query)
        buckets = (self.ru, self.writes) if write else (self.ru,)
        if segments[0] == "servicePrincipals" and "keyCredentials" in query.get("$select", ""):
            buckets += (self.key_credentials,)
        return Charge(cost, buckets, True)

    def settle(self, charge: Charge, actual_units: int | None) -> None:
        """Correct the RU bucket with the server's ``x-ms-resource-unit`` header when it sent one."""
        if charge.resource_units and actual_units is not None and actual_units != charge.cost:
            self.ru.adjust(charge.cost - actual_units)

    def throttled(self, charge: Charge, seconds: float) -> None:
        for bucket in charge.buckets:
            bucket.pause(seconds)


def budget_of(segments: tuple[str, ...]) -> str:
    """Which documented limit a path counts against: "reports", "conditional_access" or "resource_units"."""
    head = segments[0] if segments else ""
    if head in ("auditLogs", "reports"):
        return "reports"
    if head == "identityProtection" or segments[:2] == ("identity", "conditionalAccess"):
        return "conditional_access"
    return "resource_units"


def estimated_units(method: str, segments: tuple[str, ...], query: dict[str, str]) -> int:
    """RU a request costs (0 for requests outside the identity & access RU budget)."""
    if budget_of(segments) != "resource_units":
        return 0
    return resource_unit_cost(method, segments, query)[0]


def resource_unit_cost(method: str, segments: tuple[str, ...], query: dict[str, str]) -> tuple[int, bool]:
    """(RU cost, is a write) of one request per the documented base costs and query modifiers."""
    if method == "GET":
        cost, write = _lookup(_GET_COSTS, segments), False
    elif method == "POST" and _lookup(_READ_POSTS, segments, default=0):
        cost, write = _lookup(_READ_POSTS, segments), False
    else:
        cost, write = 1, True
    if "$select" in query:
        cost -= 1
    if "$expand" in query:
        cost += 1
    top = query.get("$top", "")
    if top.isdigit() and int(top) < 20:
        cost -= 1
    return max(cost, 1), write


def _lookup(table: dict[tuple[str, ...], int], segments: tuple[str, ...], default: int = 1) -> int:
    if segments in table:
        return table[segments]
    for shape, cost in table.items():
        if len(shape) == len(segments) and all(s in ("*", seg) for s, seg in zip(shape, segments, strict=True)):
            return cost
    return default


def split_query(query: str) -> dict[str, str]:
    """OData query options keyed in lower case with the ``$`` kept (``$select``, ``$top``...)."""
    return {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)} if query else {}


_REGISTRY: dict[tuple[str, str], Pacer] = {}
_TENANT_BUCKETS: dict[str, dict[str, TokenBucket]] = {}
_REGISTRY_LOCK = threading.Lock()


def pacer_for(tenant_id: str, client_id: str, limits: PacingLimits | None = None) -> Pacer:
    """The process-wide pacer of a tenant+app; the first caller's limits win until ``reset_pacers()``."""
    key = (tenant_id.lower(), client_id.lower())
    with _REGISTRY_LOCK:
        pacer = _REGISTRY.get(key)
        if pacer is None:
            limits = limits or PacingLimits()
            pacer = Pacer(limits, _tenant_buckets(key[0], limits))
            _REGISTRY[key] = pacer
        return pacer


def _tenant_buckets(tenant_id: str, limits: PacingLimits) -> dict[str, TokenBucket]:
    buckets = _TENANT_BUCKETS.get(tenant_id)
    if buckets is None:
        buckets = {
            "conditional_access": TokenBucket(limits.conditional_access, limits.conditional_access_period),
            "key_credentials": TokenBucket(limits.key_credentials, limits.key_credentials_period),
        }
        _TENANT_BUCKETS[tenant_id] = buckets
    return buckets


def reset_pacers() -> None:
    """Forget every shared bucket (tests)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
        _TENANT_BUCKETS.clear()
