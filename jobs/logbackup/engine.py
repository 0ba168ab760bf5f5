"""Backing up one log type of one tenant: Graph -> the primary log repository -> the secondary. Django-free.

Exactly once, in order:
1. Absorb: every chunk of the primary within reach of the overlap window that the cache does not know (a
   chunk a killed session wrote before updating the cache, or every one after the cache was lost) has its
   ids added to the cache and its records to the index. The watermark of a lost cache is rebuilt as the
   newest record time in the manifests. Listed chunks the index has no marker for (queued for the indexer
   when a session died) are indexed; a rebuilt watermark is kept once they are.
2. Read from watermark - overlap to now, in slices; per slice the records whose ids are not known are
   written as chunks (per day, sorted by time, at most `chunk_size` records), each chunk absorbed at once
   (the index may work on another thread: `Indexer`), then, once the indexer has drained, the watermark moves
   to the slice's end. A crash leaves chunks without a cache entry (step 1 of the
   next session takes them) or unwritten records above the watermark (read again): never a gap, never twice.
3. The secondary: each primary chunk this session stores is written to the secondary at once, from
   memory (the ids the secondary holds already are left out), and the cache marks that primary chunk
   copied. At the end, the primary chunks since the secondary's watermark - overlap that are not marked
   copied (an outage, a session killed between the two writes, a new secondary) are read and copied the
   same way; then the secondary's watermark moves to the primary's. In the steady state that reads no
   primary chunk. A failing secondary is a warning; the next session catches up from its older watermark.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from operator import eq

from entrabackup import graph
from jobs.logbackup.cache import TypeCache
from jobs.logbackup.types import LogType, ensure_id, iso, parse_time, record_time, record_times
from repositories.logstore.repository import to_ndjson

logger = logging.getLogger(__name__)
# Microsoft's advice for log reads: start with 3-day windows (https://learn.microsoft.com/graph/throttling-limits).
SLICE = timedelta(days=3)
CHUNK_SIZE = 5000
BETA_HEADERS = {"Prefer": "include-unknown-enum-members"}



class Indexer:
    """Where stored chunks go to be indexed (jobs.logbackup.index.ChunkIndexer; this one indexes nothing).

    `submit` may index later, on other threads (`ndjson`: the chunk's NDJSON as stored, when the caller has
    it); `drain` returns when every submitted chunk is indexed (the engine drains before it moves a
    watermark); `unindexed` names the given chunks that are not indexed."""

    def submit(self, repository: str, manifest, records: list[dict], ndjson: bytes | None = None) -> None:
        pass

    def drain(self) -> None:
        pass

    def unindexed(self, repository: str, manifests: list) -> set[str]:
        return set()


class LogCancelled(Exception):
    """The session was asked to stop."""


@dataclass
class Target:
    """A log repository (repositories.logstore.LogRepository) under its name in the cache and the index."""

    name: str
    store: object


@dataclass
class TypeResult:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    bytes: int = 0
    chunks: int = 0
    start: str = ""
    end: str = ""
    copied: int = 0
    without_id: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "warnings"}


@dataclass
class Run:
    """Everything one log type's backup needs; `now` is the read's upper bound."""

    client: graph.GraphClient
    log_type: LogType
    tenant: str
    session: str
    primary: Target
    cache: TypeCache
    overlap: timedelta
    now: datetime
    retention: timedelta
    secondary: Target | None = None
    index: Indexer = field(default_factory=Indexer)
    cancelled: Callable[[], bool] = lambda: False  # noqa: E731
    progress: Callable[[TypeResult], None] = lambda result: None  # noqa: E731
    chunk_size: int = CHUNK_SIZE
    secondary_down: str = ""  # why the secondary stopped being written in this session ("" while it works)

    @property
    def copied_marks(self) -> str:
        """The cache's name for the primary chunks copied to the secondary."""
        return f"{self.primary.name}>{self.secondary.name}"


def backup_log_type(run: Run) -> TypeResult:
    """Steps 1-3 above for one log type; LicenceRequiredError and Graph errors propagate to the caller."""
    result = TypeResult()
    watermark = absorb(run, run.primary, result)
    if run.secondary is not None:
        _secondary_guarded(run, result, absorb, run, run.secondary)
    edge = run.now - run.retention
    start = max(watermark - run.overlap, edge) if watermark else edge
    if watermark and watermark - run.overlap < edge:
        result.warnings.append(f"{run.log_type.label}: records from {iso(watermark - run.overlap)} to {iso(edge)} "
                               "could no longer be read: Graph keeps them only for the tenant's retention.")
    result.start, result.end = iso(start), iso(run.now)
    while start < run.now:
        end = min(start + SLICE, run.now)
        _read_slice(run, start, end, result)
        run.index.drain()  # the slice's chunks are indexed before the watermark passes them
        run.cache.set_watermark(run.primary.name, end)
        start = end
    run.index.drain()  # chunks the absorb step queued when there was nothing to read
    run.cache.forget_before(run.primary.name, run.now - 2 * run.overlap)
    if run.secondary is not None:
        copy_to_secondary(run, result)
    if result.without_id:
        result.warnings.append(f"{run.log_type.label}: {result.without_id} records came without an id; each was "
                               "given one derived from its content (entrabackup-sha256-...).")
    return result


def absorb(run: Run, target: Target, result: TypeResult | None = None) -> datetime | None:
    """Take the target's unknown chunks near the watermark into the cache (and the index for the primary)."""
    watermark = run.cache.watermark(target.name)
    # The primary lists every chunk, known or not: the index is asked about each (below). The secondary lists
    # only the chunks the cache does not know.
    skip = () if target is run.primary else run.cache.absorbed(target.name)
    manifests = target.store.manifests(run.tenant, run.log_type.key, skip=skip,
                                       start=(watermark - 2 * run.overlap).date() if watermark else None)
    rebuilt = None
    if watermark is None and manifests:  # a lost cache: the newest stored record bounds what was read
        newest = max((m.last_time for m in manifests if m.last_time), default=None)
        watermark = rebuilt = parse_time(newest) if newest else None
    horizon = watermark - 2 * run.overlap if watermark else None
    known = run.cache.absorbed(target.name)
    # The index keeps its own record of what it holds (a chunk the cache knows may still have been queued for
    # the indexer when a session died), so it is asked about every chunk listed, not only those near the
    # watermark: a first session killed before its first watermark leaves a rebuilt one past its chunks.
    # Only the primary is indexed.
    unindexed = run.index.unindexed(target.name, manifests) if target is run.primary else set()
    for manifest in manifests:
        far = horizon and manifest.last_time and parse_time(manifest.last_time) < horizon
        remember = manifest.path not in known and not far
        if not remember and manifest.chunk not in unindexed:
            continue
        records = target.store.read_chunk(manifest)
        if manifest.chunk in unindexed:
            run.index.submit(target.name, manifest, records)
        if remember:
            _remember(run, target, manifest, records)
    if rebuilt:
        run.index.drain()  # kept only once the chunks before it are indexed, like every watermark
        run.cache.set_watermark(target.name, rebuilt)
    return watermark


def _remember(run: Run, target: Target, manifest, records: list[dict]) -> None:
    """A stored chunk's ids and newest time into the cache."""
    last = max(record_times(run.log_type, records), default=None)
    run.cache.absorb(target.name, manifest.path, [r["id"] for r in records], last)


def _read_slice(run: Run, start: datetime, end: datetime, result: TypeResult) -> None:
    log_type, fresh = run.log_type, {}
    url = f"{run.client.cloud.graph_url}/beta{log_type.path}" if log_type.beta else log_type.path
    params = {"$filter": log_type.filter(start, end), "$top": "1000"}
    for page in run.client.iter_pages(url, params=params, headers=BETA_HEADERS if log_type.beta else None):
        if run.cancelled():
            raise LogCancelled()
        values = page.get("value", [])
        for record in values:
            if ensure_id(record):
                result.without_id += 1
                logger.warning("A %s record of %s came without an id; it is stored as %s", log_type.key,
                               run.tenant, record["id"])
        known = run.cache.known(run.primary.name, [r["id"] for r in values])
        for record in values:
            if record["id"] in known or record["id"] in fresh:
                result.duplicates += 1
            else:
                fresh[record["id"]] = record
        result.read += len(values)
        run.progress(result)
    _store(run, run.primary, list(fresh.values()), result)


def _store(run: Run, target: Target, records: list[dict], result: TypeResult) -> None:
    """Write records as chunks per day, oldest first, learning each chunk (index, cache, secondary) as soon as
    it is stored."""
    rows, stamps = by_time(run.log_type, records)
    ids = [r["id"] for r in rows]
    for day, low, high in _days(stamps):
        for at in range(low, high, run.chunk_size):
            if run.cancelled():
                raise LogCancelled()
            end = min(at + run.chunk_size, high)
            part = rows[at:end]
            body = to_ndjson(part)
            # Sorted by time: the first and the last record bound the chunk (as they wrote their times).
            manifest = target.store.write_chunk(tenant=run.tenant, log_type=run.log_type.key, day=day,
                                                session=run.session, records=part, ndjson=body,
                                                time_range=(part[0].get(run.log_type.time_field),
                                                            part[-1].get(run.log_type.time_field)))
            if target is run.primary:
                run.index.submit(target.name, manifest, part, body)  # indexed by the next drain at the latest
            run.cache.absorb(target.name, manifest.path, ids[at:end], stamps[end - 1])
            if target is run.primary:
                result.new += len(part)
                result.chunks += 1
                result.bytes += manifest.size
                if run.secondary is not None:
                    _secondary_guarded(run, result, _copy_chunk, run, manifest, part, result)
            else:
                result.copied += len(part)
            run.progress(result)


def by_time(log_type: LogType, records: list[dict]) -> tuple[list[dict], list[datetime]]:
    """The records ordered by (time, id), and their times in that order (each parsed once).

    Sorted by time alone first: Graph serves a slice newest first, so that is one reversed run for the sort,
    and distinct times (the usual case) need nothing more. Only when two records share a time are they
    sorted again, by id, then (stable) by time."""
    stamps = record_times(log_type, records)
    order = sorted(range(len(stamps)), key=stamps.__getitem__)
    ordered = [stamps[i] for i in order]
    if any(map(eq, ordered, islice(ordered, 1, None))):
        order = sorted(range(len(stamps)), key=[r["id"] for r in records].__getitem__)
        order.sort(key=stamps.__getitem__)
        ordered = [stamps[i] for i in order]
    return [records[i] for i in order], ordered


def _days(stamps: list[datetime]) -> Iterator[tuple[date, int, int]]:
    """Each day of the sorted times (all UTC, as parse_time gives them) with the range of its records."""
    low = 0
    while low < len(stamps):
        day = stamps[low].date()
        high = bisect_left(stamps, datetime.combine(day + timedelta(days=1), time.min, UTC), low)
        yield day, low, high
        low = high


def copy_to_secondary(run: Run, result: TypeResult) -> None:
    """Copy the primary chunks since the secondary's watermark - overlap that are not marked copied yet
    (step 3), then move the secondary's watermark to the primary's."""
    def catch_up():
        since = run.cache.watermark(run.secondary.name)
        low = since - run.overlap if since else None
        for manifest in run.primary.store.manifests(run.tenant, run.log_type.key, start=low.date() if low else None,
                                                    skip=run.cache.absorbed(run.copied_marks)):
            if low and manifest.last_time and parse_time(manifest.last_time) < low:
                continue
            records = run.primary.store.read_chunk(manifest)
            _copy_chunk(run, manifest, [r for r in records if not low or record_time(run.log_type, r) >= low], result)
        watermark = run.cache.watermark(run.primary.name)
        run.cache.set_watermark(run.secondary.name, watermark)
        run.cache.forget_before(run.secondary.name, run.now - 2 * run.overlap)
        run.cache.forget_before(run.copied_marks, watermark - 2 * run.overlap)

    _secondary_guarded(run, result, catch_up)


def _copy_chunk(run: Run, manifest, records: list[dict], result: TypeResult) -> None:
    """Write to the secondary the records of one primary chunk it lacks, then mark that chunk copied."""
    known = run.cache.known(run.secondary.name, [r["id"] for r in records])
    _store(run, run.secondary, [r for r in records if r["id"] not in known], result)
    last = max(record_times(run.log_type, records), default=run.now)
    run.cache.mark_chunk(run.copied_marks, manifest.path, last)


def _secondary_guarded(run: Run, result: TypeResult, work: Callable[..., object], *args) -> None:
    """`work(*args)` on the secondary unless it failed already in this session; a failure is a warning."""
    if run.secondary_down:
        return
    try:
        work(*args)
    except LogCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the secondary leaves the primary's work standing
        secondary = run.secondary
        run.secondary_down = f"{type(exc).__name__}: {exc}"
        logger.warning("Secondary %s of %s/%s not written: %s", secondary.name, run.tenant, run.log_type.key, exc)
        result.warnings.append(f"{run.log_type.label}: secondary repository {secondary.name} not written "
                               f"({run.secondary_down}); the next session catches it up.")
