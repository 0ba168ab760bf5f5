"""Applying a restore plan through Graph: wave after wave, 20 writes per ``$batch``. Plain Python, no Django.

The caller (restore/runner.py) gives a ``Journal``: what is already done (a resumed session skips it), the
ids of objects re-created so far (old id -> new id), and where each write's outcome goes. Every write is
idempotent or made so:

- a relationship step first reads the source's current targets (GET, batched) and writes only the
  difference; "already exists" and 404 on a removal count as done;
- a recycle-bin restore that finds the object live again, a DELETE that finds it gone: done;
- a create that was sent but whose answer was lost (the proxy died) is looked up before it is sent again
  (a user by its userPrincipalName, other objects by display name among those the plan did not know).

Throttling is the Graph client's: it paces requests, and resends sub-requests a ``$batch`` answered with 429
after their Retry-After (entrabackup/graph/batch.py). https://learn.microsoft.com/graph/json-batching
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from entrabackup import objecttypes
from entrabackup.graph import GraphError, item_error
from restore.plan import BATCH, BIND_MAX, remap

logger = logging.getLogger(__name__)
DONE, SKIPPED, FAILED, SENT, NOT_DONE = "done", "skipped", "failed", "sent", "not_done"
FINISHED = (DONE, SKIPPED)
CHUNK = 10 * BATCH  # writes recorded as sent together (ten $batch requests)


class Journal(Protocol):
    def states(self) -> dict[str, str]: ...  # step id -> status recorded so far
    def id_map(self) -> dict[str, str]: ...
    def mark_sent(self, step_ids: list[str]) -> None: ...
    def record(self, step_id: str, status: str, detail: str = "", *, http_status: int | None = None,
               new_id: str | None = None, extra_ids: dict | None = None) -> None: ...
    def password(self, step: dict) -> str: ...  # the new user's password (generated or given), kept sealed


class ApplyCancelled(Exception):
    """The operator cancelled the session; what was written stays written and is recorded."""


@dataclass
class Outcome:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_done: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class _Sub:
    """One sub-request of a step."""

    step: dict
    method: str
    url: str
    body: dict | None = None
    tolerate: tuple[int, ...] = ()  # statuses that mean "already so"


def apply_plan(client, plan: dict, journal: Journal, *, cancelled: Callable[[], bool] = lambda: False,
               progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK) -> Outcome:
    """Write the plan's steps not yet done; returns what happened to each."""
    steps, outcome = plan["steps"], Outcome()
    states = dict(journal.states())
    failed: set[str] = set()  # a resumed session tries failed steps again
    resumed = {sid for sid, status in states.items() if status in (SENT, FAILED, NOT_DONE)}
    total, finished = len(steps), sum(1 for s in steps if states.get(s["id"]) in FINISHED)
    for wave in sorted({s["wave"] for s in steps}):
        todo = [s for s in steps if s["wave"] == wave and states.get(s["id"]) not in FINISHED]
        ready = []
        for step in todo:
            blocked = [d for d in step["depends_on"] if d in failed]
            if blocked:
                journal.record(step["id"], NOT_DONE, f"not written: step {blocked[0]} it depends on failed")
                failed.add(step["id"])
                outcome.not_done += 1
            else:
                ready.append(step)
        for group in _chunks(ready, chunk):
            if cancelled():
                raise ApplyCancelled()
            _run_chunk(client, group, journal, states, failed, outcome, plan, resumed)
            finished += sum(1 for s in group if states.get(s["id"]) in FINISHED)
            if progress:
                progress(finished, total)
    outcome.skipped += sum(1 for s in steps if states.get(s["id"]) == SKIPPED) - outcome.skipped
    return outcome


def _chunks(steps: list[dict], capacity: int) -> list[list[dict]]:
    """Steps in groups of about ``capacity`` writes: the client packs each group's sub-requests 20 to a $batch, so
    only a group's last batch can be partly empty; the journal is written between groups. Every $batch is
    fully parallel (no dependsOn): what depends on a write is in a later wave."""
    chunks, current, size = [], [], 0
    for step in steps:
        weight = max(step["writes"], 1)
        if current and size + weight > capacity:
            chunks.append(current)
            current, size = [], 0
        current.append(step)
        size += weight
    return chunks + ([current] if current else [])


def _run_chunk(client, chunk: list[dict], journal: Journal, states: dict, failed: set, outcome: Outcome,
               plan: dict, resumed: set[str]) -> None:
    id_map = journal.id_map()
    sent_before = [s for s in chunk if states.get(s["id"]) == SENT and s["op"] == "create"]
    for step in sent_before:  # the answer was lost with the proxy: was it created after all?
        found = _find_created(client, step, plan)
        if found:
            _created(journal, step, found, states, outcome)
    chunk = [s for s in chunk if states.get(s["id"]) not in FINISHED]
    # A relationship step reads its source's targets when they may differ from what the plan saw (and the
    # session's check confirmed): after a recycle-bin restore brought some back, or when resuming.
    reread = [s for s in chunk if s["op"] == "link" and (s.get("verify") or s["id"] in resumed)]
    current = _current_targets(client, reread, id_map, outcome)
    subs: list[_Sub] = []
    for step in chunk:  # independent of each other: a step's dependencies are in earlier waves
        subs += _subrequests(step, id_map, current, journal)
    journal.mark_sent([s["id"] for s in chunk])
    for s in chunk:
        states[s["id"]] = SENT
    results = _send(client, subs, outcome)
    by_step: dict[str, list[tuple[_Sub, dict]]] = {}
    for sub, response in zip(subs, results, strict=True):
        by_step.setdefault(sub.step["id"], []).append((sub, response))
    for step in chunk:
        _conclude(step, by_step.get(step["id"], []), journal, states, failed, outcome)


def _send(client, subs: list[_Sub], outcome: Outcome) -> list[dict]:
    requests = []
    for i, sub in enumerate(subs):
        request = {"id": str(i + 1), "method": sub.method, "url": sub.url}
        if sub.body is not None:
            request["body"] = sub.body
        requests.append(request)
    if not requests:
        return []
    before = client.stats.requests
    results = client.batch(requests)
    outcome.requests += client.stats.requests - before
    return results


def _subrequests(step: dict, id_map: dict, current: dict, journal: Journal) -> list[_Sub]:
    url, body = remap(step["url"], id_map), remap(step["body"], id_map)
    if step["op"] == "link":
        return _link_subrequests(step, url, id_map, current.get(step["id"]))
    if step["op"] == "create" and step["type"] == "user":
        body = {**body, "passwordProfile": {**body["passwordProfile"], "password": journal.password(step)}}
    tolerate = {"restore": (), "delete": (404,), "manager": (404,) if step["method"] == "DELETE" else (),
                "remove_password": (400, 404)}
    return [_Sub(step, step["method"], url, body, tolerate.get(step["op"], ()))]


def _link_subrequests(step: dict, url: str, id_map: dict, present: set[str] | None) -> list[_Sub]:
    """The writes of a relationship step; ``present`` (the source's targets now) None: as the plan saw them."""
    add = [remap(t, id_map) for t in step["add"] if present is None or remap(t, id_map) not in present]
    remove = [t for t in step["remove"] if present is None or t in present]
    subs = []
    if step["how"] == objecttypes.BIND:
        source = url.rsplit("/", 1)[0]  # /groups/{id}/members -> PATCH /groups/{id}
        for i in range(0, len(add), BIND_MAX):
            refs = [f"https://graph.microsoft.com/v1.0/directoryObjects/{t}" for t in add[i:i + BIND_MAX]]
            subs.append(_Sub(step, "PATCH", source, {"members@odata.bind": refs}))
    else:
        subs += [_Sub(step, "POST", f"{url}/$ref", {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{t}"},
                      (400,)) for t in add]
    subs += [_Sub(step, "DELETE", f"{url}/{quote(t)}/$ref", None, (404,)) for t in remove]
    step["_written"] = {"add": add, "remove": remove}
    return subs


def _current_targets(client, link_steps: list[dict], id_map: dict, outcome: Outcome) -> dict[str, set[str]]:
    """Each relationship step's source's targets now (one GET per source, batched 20 at a time)."""
    if not link_steps:
        return {}
    paths = [remap(s["url"], id_map) for s in link_steps]
    before = client.stats.requests
    found = {}
    for step, (_, items) in zip(link_steps, client.get_collections(paths, params={"$select": "id"}), strict=True):
        found[step["id"]] = {item["id"] for item in items or ()}
    outcome.requests += client.stats.requests - before
    return found


def _conclude(step: dict, answers: list[tuple[_Sub, dict]], journal: Journal, states: dict, failed: set,
              outcome: Outcome) -> None:
    errors = []
    for sub, response in answers:
        status = int(response.get("status") or 0)
        if 200 <= status < 300 or status in sub.tolerate and _tolerable(status, response):
            continue
        if step["op"] == "restore" and status == 404:
            continue  # no longer in the recycle bin: restored already (a resumed session)
        error = item_error(response, sub.method, sub.url)
        errors.append(f"{sub.method} {sub.url}: {error.message if error else status} (HTTP {status})")
    if errors:
        journal.record(step["id"], FAILED, "; ".join(errors[:3]), http_status=_status(answers))
        states[step["id"]] = FAILED
        failed.add(step["id"])
        outcome.failed += 1
        outcome.failures.append(f"{step['id']} {step['op']} {step['type']} {step['name']}: {errors[0]}")
        return
    if step["op"] == "create":
        return _created(journal, step, (answers[0][1].get("body") or {}), states, outcome)
    detail = _written(step) if step["op"] == "link" else ""
    status = SKIPPED if step["op"] == "link" and not answers else DONE
    journal.record(step["id"], status, detail or ("already as planned" if status == SKIPPED else ""),
                   http_status=_status(answers))
    states[step["id"]] = status
    outcome.done += status == DONE
    outcome.skipped += status == SKIPPED


def _tolerable(status: int, response: dict) -> bool:
    if status != 400:
        return True
    message = str(((response.get("body") or {}).get("error") or {}).get("message", ""))
    return "already exist" in message or "No password credential" in message  # done before (a resumed session)


def _created(journal: Journal, step: dict, created: dict, states: dict, outcome: Outcome) -> None:
    extra = {}
    if step["type"] == "application" and step["after"].get("appId") and created.get("appId"):
        extra[step["after"]["appId"]] = created["appId"]
    journal.record(step["id"], DONE, f"re-created as {created.get('id')}", http_status=201,
                   new_id=created.get("id"), extra_ids=extra)
    states[step["id"]] = DONE
    outcome.done += 1


def _written(step: dict) -> str:
    written = step.pop("_written", {"add": [], "remove": []})
    kept = len(step["add"]) - len(written["add"])
    parts = [f"added {len(written['add'])}", f"removed {len(written['remove'])}"]
    if kept:
        parts.append(f"{kept} already present")
    return ", ".join(parts)


def _status(answers) -> int | None:
    return int(answers[-1][1].get("status") or 0) if answers else None


def _find_created(client, step: dict, plan: dict) -> dict | None:
    """The object a lost create made, if it exists: a user by userPrincipalName, others by display name."""
    body = step["body"] or {}
    try:
        if step["type"] == "user":
            return client.get(f"/users/{quote(body['userPrincipalName'])}", {"$select": "id"})
        spec = objecttypes.get(step["type"])
        name = str(body.get("displayName", "")).replace("'", "''")
        path = step["url"]
        found = list(client.iter_values(path, {"$filter": f"displayName eq '{name}'", "$select": "id"}))
    except GraphError:
        return None
    known = set(plan.get("names", {}))
    fresh = [f for f in found if f["id"] not in known]
    return fresh[0] if len(fresh) == 1 and spec else None


def requests_least(plan: dict) -> int:
    """The fewest $batch requests the plan's writes could take: every write in a full batch of 20."""
    return math.ceil(sum(s["writes"] for s in plan["steps"]) / BATCH)
