"""The log explorer: search backed-up audit and sign-in records through the index, open one from its chunk,
export a selection straight from the log repositories. See docs/log-explorer.md.

Every search goes through `jobs.selectors.log_records_search` (the index, newest first); records themselves
are read from the chunks the index points at (repository, chunk, line), never from the index alone.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from jobs import selectors as job_selectors
from jobs.logbackup.export import CSV_COLUMNS, csv_row
from jobs.logbackup.types import LOG_TYPES
from repositories import logstore
from repositories.errors import LogChunkDamagedError, RepositoryError, RepositoryLookupError
from repositories.log_services import log_repository_open, log_repository_translated
from repositories.models import LogRepository

logger = logging.getLogger(__name__)

FILTERS = ("user", "app", "activity", "category", "result", "target", "ip", "correlation_id")
COUNT_CAP = 5000  # past it a count says "more than"; counting costs about what reading that many rows does
BATCH = 500  # rows per index query when walking a whole selection (the search's largest page)
CHUNKS_KEPT = 8  # decoded chunks kept per request (a chunk holds up to 5,000 records)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK_SUFFIX = re.compile(r"\.jsonl\.zst(?:\.enc)?$")
_TOKEN = re.compile(r"^(?P<log_type>[a-z-]{1,40})\.(?P<at>\d{1,20})\.(?P<record_id>[^\x00-\x1f\x7f]{1,200})$")


@dataclass(frozen=True)
class RecordRef:
    """One indexed record, as pages name it: `<log type>.<time in µs since the epoch>.<record id>`."""

    log_type: str
    at: datetime
    record_id: str

    @property
    def token(self) -> str:
        return f"{self.log_type}.{_micros(self.at)}.{self.record_id}"

    @classmethod
    def parse(cls, token: str) -> RecordRef:
        """ValueError (with a message safe to show) when the token is not one."""
        match = _TOKEN.match(token or "")
        if not match or match["log_type"] not in LOG_TYPES:
            raise ValueError(f"Not a log record reference: {str(token)[:60]!r}.")
        try:
            at = EPOCH + timedelta(microseconds=int(match["at"]))
        except OverflowError:
            raise ValueError(f"Not a log record reference: {token[:60]!r} (no such time).") from None
        return cls(match["log_type"], at, match["record_id"])


def _micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def row_ref(row: dict) -> RecordRef:
    return RecordRef(row["log_type"], row["at"], row["record_id"])


# Searching
#
# The index keeps a btree for user searches only (BRIN on time otherwise, docs/log-backup.md): a search without
# a user reads every row of its range before the newest can be picked. So each query first looks at a short
# window at the end of the range, and widens it eightfold until it holds what is asked or covers the range:
# everything in a window is newer than anything outside it, so the answer is the same, and a busy tenant's
# newest page reads an hour of rows instead of a month.

FIRST_WINDOW = timedelta(hours=1)
WIDEN = 8


def _widening(start: datetime, end: datetime, first: timedelta, query, enough):
    """query(window start) over windows ending at `end`, widened until enough(result) or the range is covered;
    returns (result, window size)."""
    window = first
    while True:
        low = max(start, end - window)
        result = query(low)
        if low <= start or enough(result):
            return result, window
        window *= WIDEN


def _first_window(start: datetime, end: datetime, filters: dict) -> timedelta:
    # A user search has its own btree: one query over the whole range is cheapest.
    return end - start if filters.get("user") else FIRST_WINDOW


def search_page(tenant, *, start, end, filters: dict, page: int, per_page: int) -> dict:
    """One page of matching index rows (newest first), with a capped count of all matches."""
    result, window = _widening(start, end, _first_window(start, end, filters), lambda low: job_selectors.log_records_search(
        tenant, start=low, end=end, page=page, per_page=per_page, **filters), lambda r: r["has_next"])
    rows = result["rows"]
    if result["has_next"] or (page > 1 and not rows):
        (count, exact), _ = _widening(start, end, window, lambda low: job_selectors.log_records_count(
            tenant, start=low, end=end, cap=COUNT_CAP, **filters), lambda counted: not counted[1])
    else:  # the last page: the count is known without a second query
        count, exact = (result["page"] - 1) * result["per_page"] + len(rows), True
    for row in rows:
        row["token"] = row_ref(row).token
        row["who"] = row["user_upn"] or row["app_name"] or row["user_id"] or row["app_id"]
    return {"rows": rows, "page": result["page"], "per_page": result["per_page"], "has_next": result["has_next"],
            "count": count, "count_exact": exact, "first": (result["page"] - 1) * result["per_page"] + 1,
            "last": (result["page"] - 1) * result["per_page"] + len(rows)}


def rows_walk(tenant, *, start, end, filters: dict) -> Iterator[dict]:
    """Every matching index row, newest first, in pages of BATCH walked by time (keyset on the range's end,
    each page from a widening window) rather than by a growing offset, so the last rows of a large selection
    cost what the first ones did."""
    page, seen, window = 1, set(), _first_window(start, end, filters)
    while True:
        result, window = _widening(start, end, window, lambda low, end=end, page=page: job_selectors.log_records_search(
            tenant, start=low, end=end, page=page, per_page=BATCH, **filters), lambda r: r["has_next"])
        rows = result["rows"]
        for row in rows:
            key = (row["at"], row["log_type"], row["record_id"])
            if key not in seen:
                yield row
        if not result["has_next"] or not rows:
            return
        last = rows[-1]["at"]
        if last < end:  # the next query ends at the last instant seen; its rows already given are skipped
            end, page = last, 1
            seen = {(r["at"], r["log_type"], r["record_id"]) for r in rows if r["at"] == last}
        else:  # a whole page at one instant: page on inside it
            page += 1


def rows_of(tenant, refs: list[RecordRef]) -> list[dict]:
    """The index rows of the ticked records (each found through the index at its own instant), newest first;
    refs the index does not hold are left out."""
    found = []
    for ref in refs:
        result = job_selectors.log_records_search(tenant, start=ref.at, end=ref.at, page=1, per_page=BATCH)
        found += [r for r in result["rows"] if (r["log_type"], r["record_id"]) == (ref.log_type, ref.record_id)]
    unique = {(r["at"], r["log_type"], r["record_id"]): r for r in found}
    return sorted(unique.values(), key=lambda r: (r["at"], r["record_id"]), reverse=True)


# Reading records from their chunks

class ChunkReader:
    """Opens each log repository once per request, with the password the server keeps sealed for it, and
    keeps the last few decoded chunks. A repository that cannot be opened is remembered with its reason."""

    def __init__(self):
        self._stack = ExitStack()
        self._stores: dict[str, tuple[LogRepository, logstore.LogRepository]] = {}
        self._failed: dict[str, RepositoryError] = {}
        self._chunks: OrderedDict[tuple[str, str], list[dict]] = OrderedDict()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._stack.close()

    def record(self, row: dict) -> dict:
        """The Graph record the index row points at; a RepositoryError subclass says why it cannot be read."""
        repository, store = self._store(row["repository"])
        records = self._chunk(repository, store, row["chunk"])
        line = row["line"]
        record = records[line] if 0 <= line < len(records) else None
        if record is None or record.get("id") != row["record_id"]:
            raise LogChunkDamagedError(f"Log repository {repository.name}: chunk {row['chunk']} does not hold "
                                       f"record {row['record_id'][:80]} at line {line} (the index and the chunk "
                                       "disagree; run a health check).")
        return record

    def _store(self, key: str) -> tuple[LogRepository, logstore.LogRepository]:
        if key in self._failed:
            raise self._failed[key]
        if key not in self._stores:
            try:
                self._stores[key] = self._open(key)
            except RepositoryError as exc:
                self._failed[key] = exc
                raise
        return self._stores[key]

    def _open(self, key: str) -> tuple[LogRepository, logstore.LogRepository]:
        repository = LogRepository.objects.filter(pk=int(key)).first() if str(key).isdigit() else None
        if repository is None:
            raise RepositoryLookupError(f"The log repository that holds these records (id {str(key)[:20]}) is no "
                                        "longer registered on this server.")
        return repository, self._stack.enter_context(log_repository_open(repository))

    def _chunk(self, repository: LogRepository, store: logstore.LogRepository, chunk: str) -> list[dict]:
        key = (str(repository.pk), chunk)
        if key in self._chunks:
            self._chunks.move_to_end(key)
            return self._chunks[key]
        manifest_path = _CHUNK_SUFFIX.sub(".manifest.json", chunk)
        with log_repository_translated(repository):
            logstore.check_key(manifest_path)
            manifest = logstore.Manifest.parse(manifest_path, store.backend.get(manifest_path))
            if manifest.chunk != chunk:
                raise logstore.ChunkDamagedError(f"Manifest {manifest_path} names another chunk.")
            records = store.read_chunk(manifest)  # checks the manifest's sha-256, then decrypts
        self._chunks[key] = records
        if len(self._chunks) > CHUNKS_KEPT:
            self._chunks.popitem(last=False)
        return records


# Export

def export_json(rows: Iterator[dict], reader: ChunkReader) -> Iterator[bytes]:
    """An array of Graph's record objects (as logs_export writes it), streamed. When a chunk cannot be read
    midway the array is left unclosed, so the file does not parse rather than look complete."""
    yield b"["
    try:
        for n, row in enumerate(rows):
            yield (b",\n" if n else b"\n") + orjson.dumps(reader.record(row))
    except RepositoryError as exc:
        logger.warning("Log export stopped: %s", exc)
        yield f"\n\nEXPORT INCOMPLETE: {exc}\n".encode()
        return
    finally:
        reader.close()
    yield b"\n]\n"


class _Line:
    """A file-like object whose write() hands back the line csv.writer wrote."""

    def write(self, text: str) -> str:
        return text


def export_csv(rows: Iterator[dict], reader: ChunkReader) -> Iterator[str]:
    """The key fields of each record as logs_export writes them, read from the chunk, streamed; a chunk
    that cannot be read midway ends the file with a row that says the export is incomplete."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    try:
        for row in rows:
            yield writer.writerow(csv_row(row["log_type"], reader.record(row)))
    except RepositoryError as exc:
        logger.warning("Log export stopped: %s", exc)
        yield writer.writerow(["EXPORT INCOMPLETE", str(exc)])
    finally:
        reader.close()


# The detail view

def record_view(log_type: str, record: dict) -> dict:
    """What the detail page shows of a Graph record: when, who, what, the targets and their modified
    properties (old -> new), and the whole record as indented JSON."""
    view = _audit_view(record) if log_type == "audit" else _signin_view(record)
    view["when"] = record.get(LOG_TYPES[log_type].time_field)
    view["json"] = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
    return view


def _audit_view(record: dict) -> dict:
    by = record.get("initiatedBy") or {}
    user, app = by.get("user") or {}, by.get("app") or {}
    who = [("User", user.get("displayName")), ("User principal name", user.get("userPrincipalName")),
           ("User id", user.get("id")), ("IP address", user.get("ipAddress")), ("App", app.get("displayName")),
           ("App id", app.get("appId")), ("Service principal id", app.get("servicePrincipalId"))]
    what = [("Activity", record.get("activityDisplayName")), ("Category", record.get("category")),
            ("Operation", record.get("operationType")), ("Result", record.get("result")),
            ("Reason", record.get("resultReason")), ("Service", record.get("loggedByService")),
            ("Correlation id", record.get("correlationId")), ("Record id", record.get("id"))]
    targets = [{"type": t.get("type"), "name": t.get("displayName") or t.get("userPrincipalName"), "id": t.get("id"),
                "changes": [(p.get("displayName"), _readable(p.get("oldValue")), _readable(p.get("newValue")))
                            for p in t.get("modifiedProperties") or [] if isinstance(p, dict)]}
               for t in record.get("targetResources") or [] if isinstance(t, dict)]
    details = [(d.get("key"), d.get("value")) for d in record.get("additionalDetails") or [] if isinstance(d, dict)]
    return {"who": _present(who), "what": _present(what), "targets": targets, "details": _present(details)}


def _signin_view(record: dict) -> dict:
    status, location = record.get("status") or {}, record.get("location") or {}
    who = [("User", record.get("userDisplayName")), ("User principal name", record.get("userPrincipalName")),
           ("User id", record.get("userId")), ("IP address", record.get("ipAddress")),
           ("Location", ", ".join(str(v) for v in (location.get("city"), location.get("countryOrRegion")) if v))]
    what = [("App", record.get("appDisplayName")), ("App id", record.get("appId")),
            ("Resource", record.get("resourceDisplayName")), ("Client app", record.get("clientAppUsed")),
            ("Error code", status.get("errorCode")), ("Failure reason", status.get("failureReason")),
            ("Conditional Access", record.get("conditionalAccessStatus")),
            ("Correlation id", record.get("correlationId")), ("Record id", record.get("id"))]
    return {"who": _present(who), "what": _present(what), "targets": [], "details": []}


def _present(pairs) -> list[tuple[str, str]]:
    return [(label, str(value)) for label, value in pairs if value not in (None, "", [])]


def _readable(value) -> str:
    """Graph's modifiedProperties values are JSON text ('["Sales"]'): shown decoded, a single value bare."""
    if value is None:
        return ""
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    if isinstance(decoded, list) and len(decoded) == 1:
        decoded = decoded[0]
    return decoded if isinstance(decoded, str) else json.dumps(decoded, ensure_ascii=False)
