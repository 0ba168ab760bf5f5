"""When and how long to wait before retrying a Graph request.

Throttling guidance: https://learn.microsoft.com/graph/throttling (429 + Retry-After, possibly fractional
like ``2.128``; without Retry-After use exponential back-off). 503 may carry Retry-After as well.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

# 501 is deliberately absent: Graph answers it for unsupported $select on collections, retrying won't help.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A server that asks for longer than this is treated as "use back-off" so one bad header can't stall a job.
MAX_RETRY_AFTER = 300.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds (fractional allowed) or an HTTP-date.

    Returns None when the header is missing, unparsable or absurdly large, so the caller falls back to back-off.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until_http_date(value, now)
        if seconds is None:
            return None
    if seconds != seconds or seconds > MAX_RETRY_AFTER:  # NaN or too far away
        return None
    return max(seconds, 0.0)


def _seconds_until_http_date(value: str, now: float | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.timestamp() - (time.time() if now is None else now)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter: wait ``uniform(0, min(cap, base * 2**attempt))``."""

    max_retries: int = 8
    base: float = 0.5
    cap: float = 60.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return (rng or random).uniform(0.0, ceiling)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """The server's Retry-After when given, otherwise back-off for this attempt (0-based)."""
        if retry_after is not None:
            return retry_after
        return self.backoff(attempt, rng)
