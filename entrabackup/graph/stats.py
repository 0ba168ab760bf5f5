"""Counters of what a Graph client did, so a backup session can report it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

_COUNTERS = (
    "requests",
    "resource_units",
    "retries",
    "throttled_429",
    "server_errors_5xx",
    "transport_errors",
    "bytes_received",
    "bytes_sent",
    "wait_seconds_network",
    "wait_seconds_backoff",
    "wait_seconds_pacing",
)


@dataclass
class GraphStats:
    """Thread-safe counters; one instance can be shared by several clients of a session.

    ``requests`` counts HTTP responses received (a $batch is one); attempts that never got a response are in
    ``transport_errors``. ``resource_units`` uses the server's ``x-ms-resource-unit`` when sent, else the
    documented estimate (batch sub-requests counted one by one). ``wait_seconds_network`` is time inside
    httpx (send + reading the body); ``wait_seconds_backoff`` / ``wait_seconds_pacing`` are our own sleeps.
    """

    requests: int = 0
    resource_units: int = 0
    retries: int = 0
    throttled_429: int = 0
    server_errors_5xx: int = 0
    transport_errors: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    wait_seconds_network: float = 0.0
    wait_seconds_backoff: float = 0.0
    wait_seconds_pacing: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: float) -> None:
        """Add to one or more counters atomically, e.g. ``stats.add(requests=1, bytes_sent=120)``."""
        with self._lock:
            for name, amount in amounts.items():
                if name not in _COUNTERS:
                    raise AttributeError(f"unknown counter {name!r}")
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, float]:
        """A snapshot of every counter (seconds rounded to milliseconds)."""
        with self._lock:
            return {
                f.name: round(getattr(self, f.name), 3) if f.type == "float" else getattr(self, f.name)
                for f in fields(self)
                if f.name in _COUNTERS
            }

    def merge(self, other: GraphStats) -> None:
        """Add another instance's counters into this one."""
        self.add(**{k: v for k, v in other.as_dict().items() if v})
