"""When a log record becomes visible: per-record arrival delays, deterministic by seed.

Microsoft says log data passes through several pipelines and latency can be introduced
(https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency); the retired latency page
gave p95 = 2 min and p99 = 5 min for audit and sign-in logs, and non-interactive sign-ins are seen 15-30 min
late in the field. A record with time T becomes visible at T + audit_delay_seconds + d, where d is drawn
per record from the quantile table `arrival_delays.quantiles` ([[q, seconds], ...], interpolated linearly)
by Random((seed, record id)). Off by default (d = 0), so other tests keep their fixed delay.
"""

from __future__ import annotations

import bisect
import random

DEFAULT = {"enabled": False, "seed": 0,
           "quantiles": [[0.0, 0.0], [0.5, 30.0], [0.95, 120.0], [0.99, 300.0], [1.0, 1800.0]]}


def delay_of(config: dict, record_id: str) -> float:
    """Seconds between a record's time and its arrival (the fixed delay plus its own draw)."""
    fixed = float(config.get("audit_delay_seconds", 0))
    spec = config.get("arrival_delays") or {}
    if not spec.get("enabled"):
        return fixed
    u = random.Random(f"{spec.get('seed', 0)}/{record_id}").random()
    return fixed + quantile(spec.get("quantiles") or DEFAULT["quantiles"], u)


def quantile(table: list, u: float) -> float:
    """Linear interpolation in a [[q, seconds], ...] table sorted by q."""
    qs = [float(q) for q, _ in table]
    i = bisect.bisect_left(qs, u)
    if i == 0:
        return float(table[0][1])
    if i >= len(table):
        return float(table[-1][1])
    (q0, s0), (q1, s1) = table[i - 1], table[i]
    return float(s0) + (float(s1) - float(s0)) * ((u - float(q0)) / ((float(q1) - float(q0)) or 1.0))


def max_delay(config: dict) -> float:
    """The longest delay a record can have: a reader that overlaps this much misses nothing."""
    spec = config.get("arrival_delays") or {}
    tail = max(float(s) for _, s in (spec.get("quantiles") or DEFAULT["quantiles"])) if spec.get("enabled") else 0.0
    return float(config.get("audit_delay_seconds", 0)) + tail


def arrived(config: dict, record: dict, now: float) -> bool:
    return record["_ts"] + delay_of(config, record["id"]) <= now
