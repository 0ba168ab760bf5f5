"""Compaction: a closed day's small chunks of one chain rewritten as one chunk. Django-free.

A quiet tenant's 15-minute sessions write chunks of tens of records; each costs its own manifest (~600 B)
and compresses on its own, so such a day takes ~130 B per audit record against ~100 B in one chunk. Once a
day is closed (no session writes to it any more: the caller decides, from its overlap window), its chunks of
under SMALL_CHUNK records are merged:

1. The merged records (the chunks' records concatenated in chain order) are written as a new chunk of that
   day, `compact-<token>-<n>`, compressed at COMPACT_LEVEL (with the chain's dictionary when it holds under
   SMALL_CHUNK records), then its manifest, as the chain's next link (`previous` = the head; the recorded
   head moves, like for any chunk). The manifest also lists every link it replaces (`replaces`: number, session, records, sha-256, and the hash it linked
   to) and which of them it merged (`merged`, in the order of their records). From here on the store lists
   the compacted chunk and hides the replaced ones, so readers see every record once.
2. `repoint(manifest, records)`, when given, moves whatever points into the replaced chunks to the new one
   (the log index: jobs.logbackup.index.index_compacted), all at once.
3. The replaced manifests are removed, then their chunks.

A crash before the manifest of step 1 leaves an orphaned chunk (never read; removed by a later run once the
chain has moved past its number); after it, the next run finds the replaced files still listed and finishes
steps 2 and 3 (both idempotent). The chain stays verifiable: the health check reads the replaced links from
the compacted manifest and checks every link as it was written, and the compacted manifest is itself a link,
so removing or replacing it is found like any chunk. A compacted chunk can be merged again with later small
chunks of its day (it carries its own replaced links on). Retention removes whole days, compacted or not.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from repositories.logstore.repository import (
    _CHUNK,
    COMPACTED,
    SMALL_CHUNK,
    Link,
    LogRepository,
    Manifest,
    check_name,
    to_ndjson,
)

logger = logging.getLogger(__name__)
# Once per day and chain, so slower than a session's level 3: a day of 4,800 audit records takes ~86 B per
# record at 15 (~1-3 s here), 92 B at 9, 81 B at 19 (~10-20 s under load); measured in docs/benchmarks.md.
COMPACT_LEVEL = 15
Repoint = Callable[[Manifest, list[dict]], None]


@dataclass
class CompactionReport:
    """What compact_chain did to one chain."""

    days: list[date] = field(default_factory=list)
    merged: int = 0  # chunks merged into compacted ones
    records: int = 0
    bytes_before: int = 0  # of the merged chunks
    bytes_after: int = 0  # of the compacted chunks
    finished: int = 0  # interrupted compactions finished
    removed_orphans: int = 0

    def __bool__(self) -> bool:
        return bool(self.days or self.finished or self.removed_orphans)

    def summary(self) -> str:
        text = (f"{len(self.days)} days compacted: {self.merged} chunks of {self.records} records, "
                f"{self.bytes_before} -> {self.bytes_after} bytes")
        if self.finished:
            text += f"; {self.finished} interrupted compactions finished"
        return text


def merged_chunks(manifest: Manifest) -> list[tuple[str, int]]:
    """(chunk path, records) of each chunk a compacted chunk merged, in the order of its records."""
    links = {link.n: link for link in manifest.links()}
    suffix = manifest.chunk[len(manifest.base):]
    return [(links[n].path.removesuffix(".manifest.json") + suffix, links[n].records) for n in manifest.merged]


def compact_chain(store: LogRepository, tenant: str, log_type: str, *, closed_before: date,
                  since: date | None = None, repoint: Repoint | None = None) -> CompactionReport:
    """Compact the days of the chain before `closed_before` (and from `since`, when given: a session looks at
    the last few days only, an operator's run at all); finish compactions a crash interrupted."""
    check_name(tenant, "tenant"), check_name(log_type, "log type")
    report = CompactionReport()
    for day, listed in _days(store, tenant, log_type, closed_before, since):
        _compact_day(store, tenant, log_type, day, listed, repoint, report)
    return report


def _days(store: LogRepository, tenant: str, log_type: str, closed_before: date, since: date | None):
    """(day, its listed keys) of the closed days that may have work: two chunks of sessions, or a compacted
    chunk beside other files (an unfinished compaction), or a compacted chunk without its manifest."""
    if since is None:
        by_day = defaultdict(list)
        for key in store.backend.list(f"{tenant}/{log_type}"):
            match = _CHUNK.match(key)
            if match:
                by_day[date(int(match["y"]), int(match["m"]), int(match["d"]))].append(key)
        listings = sorted(by_day.items())
    else:
        days = [since + timedelta(days=i) for i in range((closed_before - since).days)]
        listings = [(day, store.backend.list(f"{tenant}/{log_type}/{day:%Y/%m/%d}")) for day in days]
    for day, keys in listings:
        if day >= closed_before:
            continue
        bases = {_base(key) for key in keys if _CHUNK.match(key)}
        compacted = {b for b in bases if _session(b).startswith(COMPACTED)}
        manifests = {_base(k) for k in keys if k.endswith(".manifest.json")}
        if len(bases - compacted) >= 2 or (compacted and bases - compacted) or compacted - manifests:
            yield day, set(keys)


def _base(key: str) -> str:
    match = _CHUNK.match(key)
    return key[: -len(match["suffix"]) - 1]


def _session(base: str) -> str:
    return base.rsplit("/", 1)[1].rsplit("-", 1)[0]


def _compact_day(store: LogRepository, tenant: str, log_type: str, day: date, listed: set[str],
                 repoint: Repoint | None, report: CompactionReport) -> None:
    manifests = store.manifests(tenant, log_type, day, day)
    for manifest in (m for m in manifests if m.replaces):
        leftovers = _files(manifest.links(), manifest.chunk) & listed
        if leftovers:  # a compaction stopped after its manifest: finish it
            if repoint is not None:
                repoint(manifest, store.read_chunk(manifest))
            _remove(store, leftovers)
            listed -= leftovers
            report.finished += 1
    _remove_orphans(store, tenant, log_type, listed, {m.base for m in manifests}, report)
    small = [m for m in manifests if m.records < SMALL_CHUNK]
    if len(small) < 2:
        return
    records = [record for manifest in small for record in store.read_chunk(manifest)]
    compacted = _write(store, tenant, log_type, day, small, records)
    if repoint is not None:
        repoint(compacted, records)
    _remove(store, _files(compacted.links(), compacted.chunk) & listed)
    report.days.append(day)
    report.merged += len(small)
    report.records += len(records)
    report.bytes_before += sum(m.size for m in small)
    report.bytes_after += compacted.size
    logger.info("Log repository %s: %s/%s %s: %s chunks compacted into %s", store.backend.describe(), tenant,
                log_type, day, len(small), compacted.chunk)


def _write(store: LogRepository, tenant: str, log_type: str, day: date, small: list[Manifest],
           records: list[dict]) -> Manifest:
    """The compacted chunk and its manifest, listing every link it replaces (those of merged compacted chunks
    too, so the chain keeps every link it ever had)."""
    replaced = sorted([*(link for m in small for link in m.links()),
                       *(Link(m.n, m.hash, m.previous, m.day, m.path, m.session, m.records) for m in small)],
                      key=lambda link: link.n)
    entries = tuple(link.entry(replaced[i - 1] if i else None) for i, link in enumerate(replaced))
    # The chain's dictionary helps a small day, not a large one (as for session chunks: repositories.logstore).
    dictionary = store.dictionaries.current(tenant, log_type) if len(records) < SMALL_CHUNK else None
    return store.append(tenant=tenant, log_type=log_type, day=day, session=f"{COMPACTED}{secrets.token_hex(4)}",
                        records=records, ndjson=to_ndjson(records), dictionary=dictionary, level=COMPACT_LEVEL, replaces=entries,
                        merged=tuple(m.n for m in small))


def _files(links: list[Link], chunk: str) -> set[str]:
    """The manifest and chunk paths of the replaced links (the chunk suffix is the compacted chunk's)."""
    suffix = chunk[chunk.index(".jsonl"):]
    return {path for link in links for path in (link.path, link.path.removesuffix(".manifest.json") + suffix)}


def _remove(store: LogRepository, paths: set[str]) -> None:
    # Manifests first: a removal that stops half way leaves chunks without manifests, never the reverse.
    for path in sorted(paths, key=lambda p: (not p.endswith(".manifest.json"), p)):
        store.backend.delete(path)


def _remove_orphans(store: LogRepository, tenant: str, log_type: str, listed: set[str], bases: set[str],
                    report: CompactionReport) -> None:
    """Compacted chunks whose manifest was never written (a compaction stopped between the two), once the
    chain has a link of their number: no compaction in progress can still write their manifest."""
    head = store.head(tenant, log_type)[0]
    for key in sorted(listed):
        base = _base(key)
        if (_session(base).startswith(COMPACTED) and not key.endswith(".manifest.json") and base not in bases
                and base + ".manifest.json" not in listed and int(_CHUNK.match(key)["n"]) <= head):
            store.backend.delete(key)
            report.removed_orphans += 1
