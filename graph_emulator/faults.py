"""Fault injection (off by default): 503/504, connection resets, slow responses, truncated bodies.
Deterministic: each tenant draws from Random(faults.seed), re-seeded whenever the config changes."""

from __future__ import annotations

import random
import threading

from graph_emulator.common import GraphError


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rngs: dict[str, tuple[int, random.Random]] = {}

    def reseed(self, tenant_id: str) -> None:
        with self.lock:
            self.rngs.pop(tenant_id, None)

    def draw(self, tenant) -> str | None:
        """-> None | 'error503' | 'error504' | 'reset' | 'slow' | 'truncate' for this request."""
        cfg = tenant.config["faults"]
        rates = [("reset", cfg.get("reset_rate", 0)), ("error", cfg.get("error_rate", 0)),
                 ("slow", cfg.get("slow_rate", 0)), ("truncate", cfg.get("truncate_rate", 0))]
        if not any(r for _, r in rates):
            return None
        with self.lock:
            seed = int(cfg.get("seed", 0))
            entry = self.rngs.get(tenant.id)
            if entry is None or entry[0] != seed:
                entry = self.rngs[tenant.id] = (seed, random.Random(seed))
            rng = entry[1]
            roll, pick = rng.random(), rng.random()
        acc = 0.0
        for name, rate in rates:
            acc += rate
            if roll < acc:
                return ("error503" if pick < 0.6 else "error504") if name == "error" else name
        return None


def error_for(kind: str, pick_retry: bool) -> GraphError:
    if kind == "error503":
        headers = {"Retry-After": "2"} if pick_retry else {}
        return GraphError(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.",
                          headers)
    return GraphError(504, "UnknownError", "The request timed out at the gateway.")


FAULTS = Faults()  # one per process: the server's pipeline draws from it, the control plane re-seeds it
