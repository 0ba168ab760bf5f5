"""JSON batching: up to 20 sub-requests per ``POST /$batch``, each throttled on its own.

https://learn.microsoft.com/graph/json-batching : relative URLs, unique ids, ``dependsOn`` inside one batch,
``Content-Type`` with a body, responses in any order; a sub-request can come back 429/503 inside a 200 batch
(with its own Retry-After) and a failed dependency gives 424. We resend only the sub-requests that were
throttled (and those that failed because of them), after the longest Retry-After among them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .errormap import error_for
from .errors import GraphError, GraphUnavailableError
from .pacing import estimated_units, split_query
from .retry import parse_retry_after

if TYPE_CHECKING:
    from .requester import Requester

logger = logging.getLogger(__name__)

MAX_BATCH = 20
_RETRY_SUB = frozenset({429, 503})
_RETRY_SUB_READ = frozenset({0, 500, 502, 504})  # 0 = no answer for that id


def run_batch(requester: Requester, requests: list[dict]) -> list[dict]:
    """Send ``requests`` in batches; return one ``{"id", "status", "headers", "body"}`` per request, in order."""
    items = [_normalise(requester, r, i) for i, r in enumerate(requests)]
    _check_ids(items)
    results: dict[str, dict] = {}
    pending = items
    for attempt in range(requester.policy.max_retries + 1):
        retry, delay = [], 0.0
        for chunk in _chunks(pending):
            answered, charges = _send(requester, chunk)
            results.update(answered)
            chunk_retry, chunk_delay = _to_retry(requester, chunk, answered, charges, attempt)
            retry += chunk_retry
            delay = max(delay, chunk_delay)
        if not retry or attempt == requester.policy.max_retries:
            break
        pending = _without_done_dependencies(retry)
        logger.info("Graph $batch: resending %s throttled sub-requests in %.2fs", len(pending), delay)
        requester.stats.add(retries=len(pending), wait_seconds_backoff=delay)
        requester.sleep(delay)
    return [results[item["id"]] for item in items]


def item_error(response: dict, method: str = "GET", url: str = "") -> GraphError | None:
    """The typed error for a failed sub-response (None when it succeeded)."""
    status = int(response.get("status") or 0)
    if 200 <= status < 300:
        return None
    path = url.partition("?")[0]
    segments = tuple(p for p in path.split("/") if p)
    if status == 0:
        return GraphUnavailableError(f"{method} {path}: no answer inside the $batch response")
    return error_for(status, response.get("body"), method=method, segments=segments)


def _normalise(requester: Requester, request: dict, index: int) -> dict:
    item = {"id": str(request.get("id", index + 1)), "method": request.get("method", "GET").upper()}
    url = request["url"]
    if url.startswith(requester.base_url):
        url = url[len(requester.base_url):]  # sub-request URLs must be relative
    elif url.startswith(("https://", "http://")):
        raise ValueError("Batch sub-request URLs must be relative to the Graph version root.")
    item["url"] = url if url.startswith("/") else f"/{url}"
    headers = dict(request.get("headers") or {})
    if request.get("body") is not None:
        item["body"] = request["body"]
        headers.setdefault("Content-Type", "application/json")
    if headers:
        item["headers"] = headers
    if request.get("dependsOn"):
        item["dependsOn"] = [str(d) for d in request["dependsOn"]]
    return item


def _check_ids(items: list[dict]) -> None:
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("Batch sub-request ids must be unique.")
    known = set(ids)
    for item in items:
        unknown = set(item.get("dependsOn", ())) - known
        if unknown:
            raise ValueError(f"Sub-request {item['id']} depends on unknown id(s) {sorted(unknown)}.")


def _chunks(items: list[dict]) -> list[list[dict]]:
    """Pack dependency groups (which must share a batch) into batches of at most 20, keeping order."""
    groups = _dependency_groups(items)
    chunks: list[list[dict]] = [[]]
    for group in groups:
        if len(group) > MAX_BATCH:
            raise ValueError(f"A dependsOn chain of {len(group)} requests does not fit in one batch of {MAX_BATCH}.")
        if len(chunks[-1]) + len(group) > MAX_BATCH:
            chunks.append([])
        chunks[-1].extend(group)
    return [c for c in chunks if c]


def _dependency_groups(items: list[dict]) -> list[list[dict]]:
    parent = {item["id"]: item["id"] for item in items}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item in items:
        for dep in item.get("dependsOn", ()):
            if dep in parent:
                parent[root(item["id"])] = root(dep)
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(root(item["id"]), []).append(item)
    return list(groups.values())


def _send(requester: Requester, chunk: list[dict]) -> tuple[dict[str, dict], dict[str, object]]:
    charge_for = [_route(item) for item in chunk]
    reads_only = all(item["method"] == "GET" for item in chunk)
    response = requester.request(
        "POST", "/$batch", json={"requests": chunk}, idempotent=reads_only, charge_for=charge_for
    )
    answered = {str(r.get("id")): r for r in (response.body or {}).get("responses", [])}
    _account(requester, chunk, answered, response.charges)
    for item in chunk:  # a well-behaved server answers all; never lose a request silently
        answered.setdefault(item["id"], {"id": item["id"], "status": 0, "headers": {}, "body": None})
    return answered, dict(zip([item["id"] for item in chunk], response.charges, strict=False))


def _route(item: dict) -> tuple[str, tuple[str, ...], dict]:
    path, _, query = item["url"].partition("?")
    return item["method"], tuple(p for p in path.split("/") if p), split_query(query)


def _account(requester: Requester, chunk: list[dict], answered: dict[str, dict], charges: list) -> None:
    units = throttled = 0
    for item, charge in zip(chunk, charges or [None] * len(chunk), strict=True):
        sub = answered.get(item["id"], {})
        actual = _units(sub.get("headers") or {})
        if charge is not None and charge.resource_units:
            requester.pacer.settle(charge, actual)
        units += actual if actual is not None else estimated_units(*_route(item))
        throttled += sub.get("status") == 429
    requester.stats.add(resource_units=units, throttled_429=throttled)


def _to_retry(
    requester: Requester, chunk: list[dict], answered: dict[str, dict], charges: dict, attempt: int
) -> tuple[list[dict], float]:
    retry_ids, delay = set(), 0.0
    for item in chunk:
        sub = answered[item["id"]]
        status = sub.get("status")
        if status in _RETRY_SUB or (status in _RETRY_SUB_READ and item["method"] == "GET"):
            retry_ids.add(item["id"])
            after = parse_retry_after(_header(sub.get("headers") or {}, "retry-after"))
            delay = max(delay, requester.policy.delay(attempt, after, requester.rng))
    for item in chunk:  # 424 Failed Dependency because a dependency is being retried: retry it as well
        if answered[item["id"]].get("status") == 424 and set(item.get("dependsOn", ())) & retry_ids:
            retry_ids.add(item["id"])
    if requester.pacer is not None:  # tell the shared buckets, so other threads slow down too
        for item_id in retry_ids:
            if answered[item_id].get("status") == 429 and item_id in charges:
                requester.pacer.throttled(charges[item_id], delay)
    return [item for item in chunk if item["id"] in retry_ids], delay


def _without_done_dependencies(retry: list[dict]) -> list[dict]:
    ids = {item["id"] for item in retry}
    result = []
    for item in retry:
        item = dict(item)
        deps = [d for d in item.get("dependsOn", ()) if d in ids]
        if deps:
            item["dependsOn"] = deps
        else:
            item.pop("dependsOn", None)
        result.append(item)
    return result


def _units(headers: dict) -> int | None:
    value = _header(headers, "x-ms-resource-unit")
    return int(value) if value is not None and str(value).isdigit() else None


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None
