"""Throttling as Microsoft Graph documents it (https://learn.microsoft.com/graph/throttling): identity & access token bucket of resource units
per app+tenant (S/M/L by tenant size) plus a write quota, reports at 5 requests / 10 s per app+tenant,
Conditional Access at 1 request / s per tenant answered WITHOUT Retry-After. Writes (any POST, PATCH, PUT,
DELETE: 1 RU + 1 write) also draw on the app+tenant write quota (3,000 / 2 min 30 s) and the tenant's quota
for all apps together (18,000 / 5 min). Off unless configured."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque

from graph_emulator.common import Response, json_response, utcnow

COSTS = [  # (method, path predicate, base RU cost) — https://learn.microsoft.com/graph/throttling-limits table
    ("GET", lambda s: s[:1] == ["users"] and len(s) == 1, 2),
    ("GET", lambda s: s[:1] == ["applications"] and len(s) == 1, 2),
    ("GET", lambda s: len(s) >= 3 and s[0] == "groups" and s[2] == "members", 3),
    ("GET", lambda s: len(s) >= 3 and s[0] == "groups" and s[2] == "transitiveMembers", 5),
    ("GET", lambda s: s[:1] == ["oauth2PermissionGrants"], 2),
    ("GET", lambda s: len(s) >= 3 and s[0] == "servicePrincipals" and s[2] == "appRoleAssignments", 2),
]


def size_limit(users: int) -> int:
    return 3500 if users < 50 else 5000 if users <= 500 else 8000


def cost(method: str, segments: list[str], query) -> tuple[int, int]:
    """(resource units, write units) for one request incl. the $select/$expand/$top modifiers."""
    if method != "GET":
        return 1, 1
    base = next((c for m, pred, c in COSTS if m == method and pred(segments)), 1)
    if query.get("$select"):
        base -= 1
    if query.get("$expand"):
        base += 1
    top = query.get("$top")
    if top and top.isdigit() and int(top) < 20:
        base -= 1
    return max(1, base), 0


def too_many(retry_after: float | None, extra: dict | None = None) -> Response:
    """The documented 429 body (examples/throttling-429-sample.json); Retry-After fractional when given."""
    rid = str(uuid.uuid4())
    body = {"error": {"code": "TooManyRequests", "innerError": {
        "code": "429", "date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"), "message": "Please retry after",
        "request-id": rid, "status": "429"}, "message": "Please retry again later."}}
    headers = dict(extra or {})
    if retry_after is not None:
        headers["Retry-After"] = f"{max(retry_after, 0.001):.3f}"
    return json_response(429, body, headers, "application/json")


class Bucket:
    def __init__(self, capacity: float, per_seconds: float):
        self.capacity, self.rate = capacity, capacity / per_seconds
        self.tokens, self.stamp = capacity, time.monotonic()

    def take(self, n: float) -> float:
        """Consume n; returns 0 on success or the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.rate


class Window:
    """Sliding window counter: at most `limit` requests per `seconds`."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds, self.times = limit, seconds, deque()

    def take(self) -> float:
        now = time.monotonic()
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return self.seconds - (now - self.times[0])
        self.times.append(now)
        return 0.0


class Throttler:
    def __init__(self):
        self.lock = threading.Lock()
        self.state: dict[tuple, object] = {}

    def reset(self, tenant_id: str) -> None:
        with self.lock:
            for key in [k for k in self.state if k[1] == tenant_id]:
                del self.state[key]

    def _get(self, key: tuple, factory):
        obj = self.state.get(key)
        if obj is None:
            obj = self.state[key] = factory()
        return obj

    def check(self, tenant, app_id: str, method: str, segments: list[str], query) -> tuple[Response | None, dict]:
        """-> (429 response or None, headers for the normal response)."""
        ru, writes = cost(method, segments, query)
        headers = {"x-ms-resource-unit": str(ru)}
        cfg = tenant.config["throttling"]
        if not cfg.get("enabled"):
            return None, headers
        tid = tenant.id
        with self.lock:
            if segments[:1] == ["auditLogs"]:
                wait = self._get(("reports", tid, app_id), lambda: Window(cfg.get("reports_per_10s", 5), 10)).take()
                return (too_many(wait, headers) if wait else None), headers
            if segments[:2] == ["identity", "conditionalAccess"]:
                wait = self._get(("ca", tid), lambda: Window(cfg.get("ca_per_s", 1), 1.0)).take()
                return (too_many(None, headers) if wait else None), headers  # CA: no Retry-After (https://learn.microsoft.com/graph/throttling-limits)
            limit = cfg.get("ru_per_10s") or size_limit(tenant.meta["users"])
            # A shorter window (tests only) makes a storm: the same budget, refilled in bursts many times a second.
            window = float(cfg.get("ru_window_seconds") or 10.0)
            bucket = self._get(("ru", tid, app_id), lambda: Bucket(limit, window))
            wait = bucket.take(ru)
            scope = "Tenant_Application"
            if not wait and writes:
                wait = self._get(("w", tid, app_id), lambda: Bucket(cfg.get("write_per_150s", 3000), 150.0)).take(writes)
            if not wait and writes:  # every app of the tenant together: 18,000 writes per 5 minutes
                tenant_writes = self._get(("tw", tid), lambda: Bucket(cfg.get("tenant_write_per_300s", 18000), 300.0))
                wait, scope = tenant_writes.take(writes), "Tenant"
            used = 1 - bucket.tokens / bucket.capacity
        if used > 0.8:
            headers["x-ms-throttle-limit-percentage"] = f"{min(used + 0.8, 1.8):.1f}"
        if wait:
            scope = f"{scope}/{'Write' if writes else 'Read'}/{app_id}/{tid}"
            info = "WriteLimitExceeded" if writes else "ResourceUnitLimitExceeded"
            return too_many(wait, {**headers, "x-ms-throttle-scope": scope, "x-ms-throttle-information": info}), headers
        return None, headers
