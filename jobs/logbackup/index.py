"""The searchable index of stored log records: key fields in the configuration database, partitioned by day.

Why the configuration database and not the tenant's Entra ID backup repository: the index describes the
log repositories (its rows point at their chunks), which are independent of where directory backups go
(a tenant may back up its directory to a remote PostgreSQL and its logs to S3); the log explorer searches
it through the same connection as every other page; and one table partitioned by day makes retention a
DROP of whole partitions instead of row deletes. See docs/log-backup.md.

Exactly once, per chunk rather than per record: a chunk's rows are COPYed in the same transaction as its
marker row in `jobs_logchunk` (unique per repository and chunk path), and a chunk already marked is skipped.
So a chunk's rows are all there or none, and indexing it again (a killed session, a lost cache) adds
nothing, without a unique key over millions of rows. Only the job's primary repository is indexed: the
secondary holds the same records, and the search must not show one twice.

The tables are created by migration jobs/0005 (raw SQL: Django has no partitioned tables); a day's partition
is created on first use.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from operator import itemgetter

import orjson
from django.conf import settings
from django.db import connection, transaction

from jobs.errors import JobError
from jobs.logbackup.types import LOG_TYPES, LogType, index_fields
from repositories.logstore import compaction
from repositories.logstore.repository import to_ndjson

logger = logging.getLogger(__name__)
TABLE = "jobs_logrecord"
CHUNKS = "jobs_logchunk"
USERS = "jobs_loguser"
# Records point at their chunk by id; text that repeats per chunk (repository, chunk path, log type) lives
# once in jobs_logchunk. Indexes: BRIN on time (a few pages per partition, rows arrive in time order) and one
# btree for the search the floor is about, user and time. Frozen copies go into migrations (jobs/0005).
CREATE = f"""
CREATE TABLE {CHUNKS} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository text NOT NULL,
    chunk text NOT NULL,
    tenant_id bigint NOT NULL,
    log_type text NOT NULL,
    day date NOT NULL,
    records integer NOT NULL,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository, chunk)
);
CREATE INDEX {CHUNKS}_tenant_day ON {CHUNKS} (tenant_id, repository, day);
CREATE TABLE {USERS} (
    tenant_id bigint NOT NULL,
    user_id text NOT NULL,
    user_key text NOT NULL,
    PRIMARY KEY (tenant_id, user_id, user_key)
);
CREATE TABLE {TABLE} (
    at timestamptz NOT NULL,
    tenant_id bigint NOT NULL,
    chunk_id bigint NOT NULL,
    line integer NOT NULL,
    log_type smallint NOT NULL,
    user_key text NOT NULL,
    record_id text NOT NULL,
    category text NOT NULL,
    activity text NOT NULL,
    result text NOT NULL,
    user_id text NOT NULL,
    user_upn text NOT NULL,
    app_id text NOT NULL,
    app_name text NOT NULL,
    target_ids text[] NOT NULL,
    target_names text[] NOT NULL,
    correlation_id text NOT NULL,
    ip_address text NOT NULL,
    application text NOT NULL,
    status text NOT NULL
) PARTITION BY RANGE (at);
CREATE INDEX {TABLE}_at ON {TABLE} USING brin (at);
CREATE INDEX {TABLE}_user ON {TABLE} (tenant_id, user_key, at);
"""
DROP = f"DROP TABLE IF EXISTS {TABLE}, {CHUNKS}, {USERS} CASCADE;"
FIELDS = ["category", "activity", "result", "user_id", "user_upn", "app_id", "app_name", "target_ids",
          "target_names", "correlation_id", "ip_address", "application", "status"]
# The COPY columns; all sent as text, the time as Graph wrote it (PostgreSQL parses it, Python never does). The
# first HEAD are the same for every row of a chunk: they go in front of each row once its chunk id is known.
WRITTEN = ["chunk_id", "tenant_id", "log_type", "at", "line", "user_key", "record_id", *FIELDS]
HEAD = 3
# What a search row holds (jobs.selectors.log_records_search): the record's key fields and where it is stored.
COLUMNS = ["at", "tenant_id", "log_type", "record_id", *FIELDS, "repository", "chunk", "line"]
# The smallint of each log type in the rows; never renumber (rows keep them).
CODES = {"audit": 1, "signin": 2, "signin-noninteractive": 3, "signin-serviceprincipal": 4,
         "signin-managedidentity": 5}
assert set(CODES) == set(LOG_TYPES), "every log type needs an index code"  # noqa: S101 - a table kept in step


def user_key(upn: str, user_id: str) -> str:
    """The one key the user search goes through: the UPN in lower case, or the object id without a UPN."""
    return (upn or user_id).lower()


def search_sql(tenant_id: int, start, end, *, user=None, app=None, activity=None, category=None, result=None,
               target=None, ip=None, correlation_id=None, page: int = 1, per_page: int = 50) -> tuple[str, list]:
    """The query of one page of the log explorer (newest first; one row more than a page tells if more follow).

    `user` is a UPN (any case) or an object id. Rows are keyed by the lower-case UPN (`user_key`); an id
    goes through jobs_loguser, the UPNs seen with each id, so both searches use the one user btree.
    `app` is the initiating (audit) or signed-in (sign-in) application's id or name in any case; it has no btree
    of its own and is matched within the time range.
    """
    where, args = ["r.tenant_id = %s", "r.at >= %s", "r.at <= %s"], [tenant_id, start, end]
    if user:
        where.append(f"r.user_key = ANY(lower(%s) || ARRAY(SELECT u.user_key FROM {USERS} u "  # noqa: S608
                     "WHERE u.tenant_id = %s AND u.user_id = %s)) AND (r.user_key = lower(%s) OR r.user_id = %s)")
        args += [user, tenant_id, user, user, user]
    if app:
        where.append("(lower(r.app_id) = lower(%s) OR lower(r.app_name) = lower(%s))")
        args += [app, app]
    for column, value in (("activity", activity), ("category", category), ("result", result), ("ip_address", ip),
                          ("correlation_id", correlation_id)):
        if value:
            where.append(f"r.{column} = %s")
            args.append(value)
    if target:
        where.append("(%s = ANY(r.target_ids) OR %s = ANY(r.target_names))")
        args += [target, target]
    found = (f"SELECT r.* FROM {TABLE} r WHERE {' AND '.join(where)} "  # noqa: S608 - constants only
             "ORDER BY r.at DESC, r.record_id LIMIT %s OFFSET %s")
    shown = ", ".join(f"c.{c}" if c in ("log_type", "repository", "chunk") else f"f.{c}" for c in COLUMNS)
    sql = (f"SELECT {shown} FROM ({found}) f JOIN {CHUNKS} c ON c.id = f.chunk_id "  # noqa: S608 - constants
           "ORDER BY f.at DESC, f.record_id")
    return sql, [*args, per_page + 1, (page - 1) * per_page]


def partition_name(day: date) -> str:
    return f"{TABLE}_{day:%Y%m%d}"


def partition_ensure(cursor, day: date) -> None:
    """Create the day's partition when missing (an advisory lock keeps two sessions from racing on it; it is
    taken only when the partition is missing, so indexing sessions do not queue behind each other)."""
    name = partition_name(day)
    cursor.execute("SELECT to_regclass(%s)", [name])
    if cursor.fetchone()[0] is None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                       f"FOR VALUES FROM (%s) TO (%s)", [f"{day} 00:00+00", f"{day + timedelta(days=1)} 00:00+00"])


@dataclass(frozen=True)
class Prepared:
    """A chunk's index rows as COPY text, built before its chunk id is known (prepare).

    `body` holds one line per record (joined by newlines), each starting with a tab: the chunk's id, tenant
    and log type code go in front of every line when the rows are written (copy_text). The session's thread
    prepares a chunk while the indexer's threads wait on PostgreSQL for the ones before."""

    tenant_id: int
    code: int
    body: str
    count: int
    days: tuple[date, ...]
    users: frozenset[tuple[str, str]]  # (object id, UPN key) of the users who have both

    def copy_text(self, chunk_id: int) -> tuple[str, ...]:
        """The COPY text of the rows as chunk `chunk_id`'s, in parts written one after the other (a chunk's
        text is a megabyte or more: joined, it would be copied once more)."""
        head = f"{chunk_id}\t{self.tenant_id}\t{self.code}"
        return head, self.body.replace("\n", "\n" + head), "\n"


def prepare(tenant_id: int, log_type: LogType, records: list[dict], lines=None) -> Prepared:
    """The rows of `records`, at these lines of their chunk (default: 0, 1, ...)."""
    numbers = list(map(str, range(len(records)) if lines is None else lines))
    built = _fast_body(log_type, records, numbers)
    body, users = built if built is not None else _general_body(log_type, records, numbers)
    return Prepared(tenant_id=tenant_id, code=CODES[log_type.key], body=body, count=len(records),
                    days=_days(log_type, records), users=frozenset(users))


def _days(log_type: LogType, records: list[dict]) -> tuple[date, ...]:
    """The days of the records' times (the partitions their rows go to), oldest first."""
    return tuple(sorted(map(date.fromisoformat, set(map(_DAY, map(itemgetter(log_type.time_field), records))))))


_DAY = itemgetter(slice(0, 10))
FIELD_MARK, ROW_MARK = "\x1f", "\x1e"  # stand-ins for tab and newline while the text of a chunk is escaped
_NONE: dict = {}
_SEPARATORS = len(WRITTEN) - HEAD  # tabs per row of a body (each row starts with one)


def _fast_body(log_type: LogType, records: list[dict], numbers: list[str]) -> tuple[str, set] | None:
    """The body and users as _general_body makes them, in one pass per record with no dict of fields in
    between, and no escaping per value: the rows are joined with tabs and newlines, and the whole text is
    checked once. When tenant data holds a tab, newline, carriage return or NUL, the rows are built again
    with stand-ins for the separators and escaped in one pass per character. None for what neither covers (a
    value that is not text, a stand-in in the data, not the documented shape): the caller then takes
    _general_body, which fails the same way where the data cannot be indexed at all."""
    rows = _audit_rows if log_type.key == "audit" else _signin_rows
    count = len(records)
    try:
        lines, users = rows(log_type, records, numbers, "\t")
        body = "\n".join(lines)
        if (body.count("\t") == count * _SEPARATORS and body.count("\n") == count - 1 and "\r" not in body
                and "\x00" not in body):
            return (body.replace("\\", "\\\\") if "\\" in body else body), users
        lines, users = rows(log_type, records, numbers, FIELD_MARK)
        body = ROW_MARK.join(lines)
    except (TypeError, AttributeError, KeyError, IndexError):
        return None
    if body.count(ROW_MARK) != count - 1 or body.count(FIELD_MARK) != count * _SEPARATORS:
        return None  # the data holds a stand-in itself
    body = body.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return body.replace("\x00", "").replace(FIELD_MARK, "\t").replace(ROW_MARK, "\n"), users  # text cannot hold NUL


def _element(value: str) -> str:
    """One quoted element of a text[] literal."""
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'


def _elements(values: list) -> str:
    """A text[] literal of text values."""
    return "{" + ",".join(map(_element, values)) + "}" if values else "{}"


def _audit_rows(log_type: LogType, records: list[dict], numbers: list[str], sep: str) -> tuple[list[str], set]:
    """index_fields of directory audits, written out per row (tests compare them with _general_body's)."""
    out, users, none = [], set(), _NONE
    append, add = out.append, users.add
    for line, r in zip(numbers, records, strict=True):
        by = r.get("initiatedBy") or none
        user, app = by.get("user") or none, by.get("app") or none
        upn, uid = user.get("userPrincipalName") or "", user.get("id") or ""
        key = (upn or uid).lower()
        if uid and upn:
            add((uid, key))
        targets = r.get("targetResources") or ()
        if len(targets) == 1:  # the usual case, quoted here unless a quote or backslash needs escaping
            t = targets[0]
            ids, names = t.get("id") or "", t.get("displayName") or t.get("userPrincipalName") or ""
            if '"' in ids or "\\" in ids or '"' in names or "\\" in names:
                ids, names = "{" + _element(ids) + "}", "{" + _element(names) + "}"
            else:
                ids, names = '{"' + ids + '"}', '{"' + names + '"}'
        else:
            ids = _elements([t.get("id") or "" for t in targets])
            names = _elements([t.get("displayName") or t.get("userPrincipalName") or "" for t in targets])
        append(sep.join((
            "", r["activityDateTime"], line, key, r["id"], r.get("category") or "",
            r.get("activityDisplayName") or "", r.get("result") or "", uid, upn, app.get("appId") or "",
            app.get("displayName") or "", ids, names, r.get("correlationId") or "", user.get("ipAddress") or "",
            r.get("loggedByService") or "", r.get("resultReason") or "")))
    return out, users


def _signin_rows(log_type: LogType, records: list[dict], numbers: list[str], sep: str) -> tuple[list[str], set]:
    """index_fields of sign-ins, written out per row (tests compare them with _general_body's)."""
    out, users, none, category = [], set(), _NONE, log_type.key
    for line, r in zip(numbers, records, strict=True):
        status = r.get("status") or none
        error = status.get("errorCode")
        upn, uid = r.get("userPrincipalName") or "", r.get("userId") or ""
        key = (upn or uid).lower()
        if uid and upn:
            users.add((uid, key))
        app_name = r.get("appDisplayName") or ""
        out.append(sep.join((
            "", r["createdDateTime"], line, key, r["id"], category, "Sign-in",
            "failure" if error else "success", uid, upn, r.get("appId") or "", app_name,
            "{" + _element(r.get("resourceId") or "") + "}", "{" + _element(r.get("resourceDisplayName") or "") + "}",
            r.get("correlationId") or "", r.get("ipAddress") or "", app_name, str(error or 0))))
    return out, users


def _general_body(log_type: LogType, records: list[dict], numbers: list[str]) -> tuple[str, set]:
    """The body from index_fields per record, every value made text and escaped on its own."""
    rows, users = [], set()
    for line, record in zip(numbers, records, strict=True):
        f = index_fields(log_type, record)
        upn, uid = str(f["user_upn"]), str(f["user_id"])
        key = user_key(upn, uid)
        if uid and upn:
            users.add((uid, key))
        values = [record[log_type.time_field], line, key, record["id"], *(f[name] for name in FIELDS)]
        rows.append("".join("\t" + _copy_value(value) for value in values))
    return "\n".join(rows), users


def _copy_value(value) -> str:
    """One field of COPY text: a list as a text[] literal; backslash, tab, newline and CR escaped; NUL dropped."""
    text = _elements([str(v).replace("\x00", "") for v in value]) if isinstance(value, list) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "")


def index_chunk(*, tenant_id: int, log_type: LogType, repository: str, chunk: str, records: list[dict] | None = None,
                prepared: Prepared | None = None) -> int:
    """Index a stored chunk's records (line = the record's place in the chunk), all or none, in one transaction
    with the chunk's marker; returns the rows added: 0 when the chunk is marked already. `prepared`: its rows
    built already (prepare), else they are built from `records` once the chunk is found unmarked."""
    days = prepared.days if prepared is not None else _days(log_type, records)
    count = prepared.count if prepared is not None else len(records)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CHUNKS} (repository, chunk, tenant_id, log_type, day, records) "  # noqa: S608
                       "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (repository, chunk) DO NOTHING RETURNING id",
                       [repository, chunk, tenant_id, log_type.key, days[0] if days else date.min, count])
        marked = cursor.fetchone()
        if marked is None:
            return 0  # an earlier call committed this chunk's rows with its marker: they are all there
        _write(cursor, prepared if prepared is not None else prepare(tenant_id, log_type, records), marked[0])
    return count


def index_compacted(*, tenant_id: int, log_type: LogType, repository: str, manifest, records: list[dict],
                    primary: bool) -> int:
    """Point the index at a compacted chunk instead of the chunks it merged (repositories.logstore.compaction),
    in one transaction: a marker for the compacted chunk, the merged chunks' rows moved to it (line + the
    place of their chunk's records in it), their markers removed. Merged chunks that were never indexed get
    their rows now when `repository` is indexed for the tenant (`primary`). Nothing when the compacted chunk
    is marked already (done before), or when no merged chunk was indexed and the repository is not
    (a secondary). Returns the rows added."""
    merged = compaction.merged_chunks(manifest)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT chunk, id FROM {CHUNKS} WHERE repository = %s AND chunk = ANY(%s) "  # noqa: S608
                       "FOR UPDATE", [repository, [manifest.chunk, *(path for path, _ in merged)]])
        marked = dict(cursor.fetchall())
        if manifest.chunk in marked or not (marked or primary):
            return 0
        cursor.execute(f"INSERT INTO {CHUNKS} (repository, chunk, tenant_id, log_type, day, records) "  # noqa: S608
                       "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                       [repository, manifest.chunk, tenant_id, log_type.key, manifest.day, len(records)])
        chunk_id, moved, fresh, at = cursor.fetchone()[0], [], [], 0
        for path, count in merged:
            if path in marked:
                moved.append((marked[path], at))
            elif primary:
                fresh.extend(range(at, at + count))
            at += count
        if moved:
            # The merged chunks' rows lie within the compacted chunk's time range: one partition, a BRIN range.
            cursor.execute(f"UPDATE {TABLE} r SET chunk_id = %s, line = r.line + m.off "  # noqa: S608
                           "FROM unnest(%s::bigint[], %s::int[]) AS m(id, off) WHERE r.chunk_id = m.id "
                           "AND r.at >= coalesce(%s::timestamptz - interval '1 second', '-infinity') "
                           "AND r.at <= coalesce(%s::timestamptz + interval '1 second', 'infinity')",
                           [chunk_id, [i for i, _ in moved], [o for _, o in moved], manifest.first_time,
                            manifest.last_time])
            expected = sum(count for path, count in merged if path in marked)
            if cursor.rowcount != expected:  # rolled back: no row may keep pointing at a removed marker
                raise JobError(f"The index holds {cursor.rowcount} rows of the chunks compacted into "
                               f"{manifest.chunk}, not {expected}: run a health check; compaction waits.")
            cursor.execute(f"DELETE FROM {CHUNKS} WHERE id = ANY(%s)", [[i for i, _ in moved]])  # noqa: S608
        if fresh:
            _write(cursor, prepare(tenant_id, log_type, [records[line] for line in fresh], fresh), chunk_id)
    return len(fresh)


def _write(cursor, prepared: Prepared, chunk_id: int) -> None:
    """The rows into their day partitions as chunk `chunk_id`'s, and their users' UPN keys."""
    for day in prepared.days:
        partition_ensure(cursor, day)
    if prepared.count:
        _copy(cursor, prepared.copy_text(chunk_id))
    if prepared.users:
        # The pairs as one JSON parameter (psycopg quotes a text[] element by element, in Python), inserted in
        # one order for every chunk: two indexer threads adding the same users wait on each other, never
        # deadlock.
        cursor.execute(f"INSERT INTO {USERS} SELECT %s, p ->> 0, p ->> 1 FROM jsonb_array_elements(%s::jsonb) p "  # noqa: S608
                       "ORDER BY 2, 3 ON CONFLICT DO NOTHING",
                       [prepared.tenant_id, orjson.dumps(sorted(prepared.users)).decode()])


def _copy(cursor, parts: tuple[str, ...]) -> None:
    """One COPY of a chunk's rows: far faster than row-by-row parameters, and text escaped a chunk at a time
    beats psycopg's per-value escaping."""
    with cursor.cursor.copy(f"COPY {TABLE} ({','.join(WRITTEN)}) FROM STDIN") as copy:
        for part in parts:
            copy.write(part)


# Chunks of at least this many records go to the index worker, a process of its own; None: no chunk does by
# default (ChunkIndexer(process=True) sends every one). Off because on the 2 cores measured it lost to the
# thread back to back (docs/benchmarks.md, "Log job pipeline"): parsing the NDJSON again in the worker costs
# more CPU (about 13 µs per record there against 5 for the thread's index_chunk) than it takes off the session.
PROCESS_MIN_RECORDS: int | None = None
WORKER_COMMAND = [sys.executable, "-m", "jobs.logbackup.indexworker"]
PIPE_BYTES = 1 << 20
WORKER_DEPTH = 2  # chunks in the worker at once: one indexed, the next parsed meanwhile
WORKER_START_SECONDS = 120  # a fresh interpreter and Django on a loaded machine


# While an indexer's thread runs, the interpreter hands the GIL over after SWITCH_SECONDS instead of Python's
# default 5 ms (sys.setswitchinterval). Each wait of that thread on PostgreSQL (the marker, each flush of the
# COPY, the commit) ends in taking the GIL back from the session's thread, which is busy in Python with the
# next chunk: at 5 ms a hand-off, a chunk's dozen or so waits cost the indexer more time than PostgreSQL took
# (docs/benchmarks.md, "Log job pipeline"). It only shortens the wait of a thread that asks for the GIL.
SWITCH_SECONDS = 0.0005
INDEX_THREADS = 2  # indexer threads of a session's log type, each with its own connection (ChunkIndexer)
_switching = {"threads": 0, "before": None}
_switching_lock = threading.Lock()


def _switch_faster(on: bool) -> None:
    """Count a ChunkIndexer whose threads run in (on) or out; the first in sets SWITCH_SECONDS, the last out
    restores the interval it found."""
    with _switching_lock:
        if on:
            if _switching["threads"] == 0:
                _switching["before"] = sys.getswitchinterval()
                sys.setswitchinterval(min(SWITCH_SECONDS, _switching["before"]))
            _switching["threads"] += 1
        else:
            _switching["threads"] -= 1
            if _switching["threads"] == 0:
                sys.setswitchinterval(_switching["before"])


class IndexWorkerError(JobError):
    """The index worker could not start, failed a chunk, or stopped; the chunk is not indexed (no marker),
    and the next session's absorb step indexes it."""


class IndexWorker:
    """The session's end of jobs.logbackup.indexworker: one chunk at a time, its NDJSON in, rows added out."""

    def __init__(self):
        from jobs.logbackup import indexworker  # local: the frame helpers only

        self._frames = indexworker
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read when the worker fails, closed in close()
        path = [str(settings.BASE_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        env.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings")
        try:
            self.process = subprocess.Popen(WORKER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                                            stderr=self._stderr, cwd=settings.BASE_DIR, env=env)
        except OSError as exc:
            self._stderr.close()
            raise IndexWorkerError(f"The log index worker could not start: {exc}.") from None
        _widen(self.process.stdin)
        try:
            self._frames.write_frame(self.process.stdin, dict(connection.settings_dict))
            ready = self._reply(timeout=WORKER_START_SECONDS)
        except (OSError, EOFError):
            ready = None
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            why = self._why()
            self.close()
            raise IndexWorkerError(f"The log index worker could not start: {why}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, *, tenant_id: int, log_type: str, repository: str, chunk: str, ndjson: bytes) -> None:
        """Hand a chunk to the worker; `result` answers for it, in the order sent (the worker parses the next
        chunk while PostgreSQL takes the COPY of this one)."""
        try:
            self._frames.write_frame(self.process.stdin, (tenant_id, log_type, repository, chunk), ndjson)
        except OSError:  # the worker is gone: result() finds the pipe closed and says so
            pass

    def result(self, chunk: str) -> int:
        """The rows the worker added for the oldest chunk sent (0: marked already); IndexWorkerError on failure."""
        try:
            reply = self._reply()
        except (OSError, EOFError):
            reply = None
        if reply is None:
            raise IndexWorkerError(f"The log index worker stopped while indexing chunk {chunk}: {self._why()}")
        if reply[0] == "error":
            raise IndexWorkerError(f"Indexing chunk {chunk} failed in the log index worker: {reply[1]}")
        return reply[1]

    def index(self, *, tenant_id: int, log_type: str, repository: str, chunk: str, ndjson: bytes) -> int:
        """Index one chunk in the worker and wait for it."""
        self.send(tenant_id=tenant_id, log_type=log_type, repository=repository, chunk=chunk, ndjson=ndjson)
        return self.result(chunk)

    def _reply(self, timeout: float | None = None):
        if timeout is not None:
            timer = threading.Timer(timeout, self.process.kill)  # a worker that hangs at start is ended
            timer.start()
        try:
            return self._frames.read_header(self.process.stdout)
        finally:
            if timeout is not None:
                timer.cancel()

    def _why(self) -> str:
        try:
            status = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        self._stderr.seek(0)
        said = self._stderr.read()[-800:].decode(errors="replace").strip()
        last = said.splitlines()[-1] if said else ""
        return (f"it exited with status {status}" if status is not None else "it did not answer") + (
            f" ({last})." if last else ".")

    def close(self) -> None:
        """End the worker: its input closes, it finishes the chunk it may hold and exits."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def _widen(pipe) -> None:
    """A pipe of PIPE_BYTES instead of 64 KiB (Linux): a chunk's few MB then pass in a handful of writes,
    not in a hundred hand-overs between two processes, each of which waits for a core on a busy machine."""
    try:
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:  # above the system's limit (/proc/sys/fs/pipe-max-size): the default size works too
        pass


class ChunkIndexer:
    """Indexes a session's chunks on INDEX_THREADS threads, each with a database connection of its own, so the
    next chunk is serialised, compressed and encrypted meanwhile (psycopg and zstd release the GIL while they
    work); `submit` builds a chunk's rows on the caller's thread (prepare). With `process` True (or chunks of
    PROCESS_MIN_RECORDS records when it is set) the chunks go from one thread to the index worker
    (IndexWorker, a process of its own started at the first such chunk), so that their parsing and COPY text
    take another core; a collector thread takes the worker's answers.

    `submit` queues a chunk (it waits while `depth` chunks are queued already); `ndjson` is the chunk's NDJSON
    as stored, which the worker parses (serialised here when not given); `drain` returns once every
    submitted chunk is indexed and raises the first indexing error. The engine drains before it moves a
    watermark, and `unindexed` tells its absorb step which stored chunks lack a marker, so a chunk queued when a
    session died is indexed by the next one. `threaded=False` indexes in the caller (tests inside a transaction).
    """

    def __init__(self, *, tenant_id: int, log_type: LogType, threaded: bool = True, depth: int = 2,
                 process: bool | None = None):
        self.tenant_id, self.log_type, self.threaded, self.process = tenant_id, log_type, threaded, process
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._added_lock = threading.Lock()
        self._users: set[tuple[str, str]] = set()  # (object id, user key) pairs committed already
        self.worker: IndexWorker | None = None
        self._sent: queue.Queue = queue.Queue()  # chunks handed to the worker, answered in this order
        self._slots = threading.Semaphore(WORKER_DEPTH)
        self._collector: threading.Thread | None = None
        self.added = 0

    def submit(self, repository: str, manifest, records: list[dict], ndjson: bytes | None = None) -> None:
        self._raise()
        prepared = None
        if not (manifest.merged or self._to_worker(manifest, records)):
            # The rows are built here, on the caller's (the session's) thread, so that the indexer's threads
            # only wait on PostgreSQL: their COPY of one chunk overlaps the serialising and compressing of the
            # next, and no GIL hand-off waits in the middle of building rows.
            try:
                prepared = prepare(self.tenant_id, self.log_type, records)
            except Exception as exc:
                if not self.threaded:
                    raise
                prepared = exc  # raised in turn on an indexer's thread, as a failure to index there is
        if not self.threaded:
            self._index(repository, manifest, records, ndjson, prepared)
            return
        if not self._threads:
            # One thread per connection. With the worker one is enough (it hands chunks on); else two, so that
            # one's COPY runs while the other waits for its commit or for the GIL.
            count = 1 if self.process or PROCESS_MIN_RECORDS is not None else INDEX_THREADS
            self._threads = [threading.Thread(target=self._work, name=f"log-index-{self.log_type.key}-{n}",
                                              daemon=True) for n in range(count)]
            _switch_faster(True)
            for thread in self._threads:
                thread.start()
        self._queue.put((repository, manifest, records, ndjson, prepared))

    def drain(self) -> None:
        self._queue.join()
        self._raise()

    def unindexed(self, repository: str, manifests: list) -> set[str]:
        return chunks_unindexed(repository, [m.chunk for m in manifests])

    def close(self) -> None:
        """Index what is queued, then end the thread (and its connection) and the worker."""
        if self._threads:
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join()
            self._threads = []
            _switch_faster(False)
            if self._collector is not None:
                self._sent.put(None)
                self._collector.join()
                self._collector = None
            if self.worker is not None:
                self.worker.close()
                self.worker = None

    def __enter__(self) -> ChunkIndexer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _to_worker(self, manifest, records: list[dict]) -> bool:
        if manifest.merged or not self.threaded:
            return False
        if self.process is not None:
            return self.process
        return PROCESS_MIN_RECORDS is not None and len(records) >= PROCESS_MIN_RECORDS

    def _index(self, repository: str, manifest, records: list[dict], ndjson: bytes | None,
               prepared: Prepared | Exception | None = None) -> None:
        if isinstance(prepared, Exception):
            raise prepared
        if manifest.merged:  # a compacted chunk (a compaction stopped before it re-pointed the index)
            self._count(index_compacted(tenant_id=self.tenant_id, log_type=self.log_type, repository=repository,
                                        manifest=manifest, records=records, primary=True))
            return
        if prepared is not None:  # user pairs committed with an earlier chunk are not sent again
            with self._added_lock:
                prepared = replace(prepared, users=prepared.users - self._users)
        self._count(index_chunk(tenant_id=self.tenant_id, log_type=self.log_type, repository=repository,
                                chunk=manifest.chunk, records=records, prepared=prepared))
        if prepared is not None:
            with self._added_lock:
                self._users.update(prepared.users)

    def _count(self, rows: int) -> None:
        with self._added_lock:
            self.added += rows

    def _send(self, repository: str, manifest, records: list[dict], ndjson: bytes | None) -> None:
        """Hand the chunk to the worker (started at the first); the collector thread takes its answer and
        marks the chunk done, so that drain() returns only once the worker has indexed it."""
        self.start_worker()
        if ndjson is None:  # read back by the absorb step: serialised as write_chunk does
            ndjson = to_ndjson(records)
        self._slots.acquire()
        self._sent.put(manifest.chunk)
        self.worker.send(tenant_id=self.tenant_id, log_type=self.log_type.key, repository=repository,
                         chunk=manifest.chunk, ndjson=ndjson)

    def start_worker(self) -> IndexWorker:
        """The index worker, started now if it is not yet (a session starts it at its first large chunk)."""
        if self.worker is None:
            self.worker = IndexWorker()
            self._collector = threading.Thread(target=self._collect, name=f"log-index-worker-{self.log_type.key}",
                                               daemon=True)
            self._collector.start()
        return self.worker

    def _collect(self) -> None:
        while (chunk := self._sent.get()) is not None:
            try:
                self._count(self.worker.result(chunk))
            except Exception as exc:  # noqa: BLE001 - handed to the session thread by drain()/submit()
                logger.warning("Indexing chunk %s failed: %s", chunk, exc)
                if self._error is None:
                    self._error = exc
            finally:
                self._slots.release()
                self._queue.task_done()

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                sent = False
                try:
                    if self._error is None:  # after a failure the rest waits for the next session's absorb step
                        if self._to_worker(item[1], item[2]):
                            self._send(*item[:4])
                            sent = True  # marked done by the collector once the worker answers
                        else:
                            self._index(*item)
                except Exception as exc:  # noqa: BLE001 - handed to the session thread by drain()/submit()
                    logger.warning("Indexing chunk %s failed: %s", item[1].chunk, exc)
                    self._error = exc
                finally:
                    if not sent:
                        self._queue.task_done()
            self._queue.task_done()
        finally:
            connection.close()  # this thread's own connection


def chunks_unindexed(repository: str, chunks: list[str]) -> set[str]:
    """Which of these chunk paths of `repository` have no marker: their rows are not in the index."""
    if not chunks:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT chunk FROM {CHUNKS} WHERE repository = %s AND chunk = ANY(%s)",  # noqa: S608
                       [repository, chunks])
        return set(chunks) - {r[0] for r in cursor.fetchall()}


def partitions() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [TABLE])
        names = [r[0] for r in cursor.fetchall()]
    return sorted(datetime.strptime(n.rsplit("_", 1)[1], "%Y%m%d").date() for n in names)


@transaction.atomic
def index_prune(*, tenant_id: int, repository: str, before: date) -> list[date]:
    """Forget the tenant's chunks of that repository before `before` (their rows, then their markers), then
    drop every partition of a day before it that no tenant uses any more. Returns the days dropped."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, day FROM {CHUNKS} WHERE tenant_id = %s AND repository = %s "  # noqa: S608
                       "AND day < %s", [tenant_id, repository, before])
        gone = cursor.fetchall()
        if gone:  # else no partition is read: other tenants' older days stay untouched, every session
            cursor.execute(f"DELETE FROM {TABLE} WHERE at >= %s AND at < %s AND chunk_id = ANY(%s)",  # noqa: S608
                           [f"{min(day for _, day in gone)} 00:00+00", f"{before} 00:00+00", [i for i, _ in gone]])
            cursor.execute(f"DELETE FROM {CHUNKS} WHERE id = ANY(%s)", [[i for i, _ in gone]])  # noqa: S608
        dropped = []
        for day in partitions():
            if day >= before:
                break
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {partition_name(day)})")  # noqa: S608 - a date's name
            if not cursor.fetchone()[0]:
                cursor.execute(f"DROP TABLE {partition_name(day)}")
                dropped.append(day)
    return dropped


def tenant_chunk_counts(tenant_id: int) -> dict[str, tuple[int, int]]:
    """The tenant's indexed chunks per log repository (its id as text, as the index names it): (chunks, records)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT repository, count(*), coalesce(sum(records), 0) FROM {CHUNKS} "  # noqa: S608
                       "WHERE tenant_id = %s GROUP BY repository ORDER BY repository", [tenant_id])
        return {name: (chunks, records) for name, chunks, records in cursor.fetchall()}


@transaction.atomic
def tenant_forget(tenant_id: int) -> None:
    """Remove the tenant's rows from the index (its chunks stay in the log repositories)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {USERS} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
        cursor.execute(f"DELETE FROM {CHUNKS} WHERE tenant_id = %s", [tenant_id])  # noqa: S608


@transaction.atomic
def repository_forget(repository: str) -> None:
    """Remove the index rows of a log repository's chunks (`repository`: its id as text; it is removed)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE chunk_id IN (SELECT id FROM {CHUNKS} WHERE repository = %s)",  # noqa: S608
                       [repository])
        cursor.execute(f"DELETE FROM {CHUNKS} WHERE repository = %s", [repository])  # noqa: S608
