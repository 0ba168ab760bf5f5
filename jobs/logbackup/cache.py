"""The cache repository: what a proxy knows about the logs it has stored, so overlapping reads store nothing twice.

One SQLite file per tenant and log type under the proxy's cache directory (ENTRABACKUP_CACHE_DIR) holds:
- the watermarks: per repository, the time up to which every record Graph served has been stored there;
- per repository, the chunks absorbed (by the repository's chunk key) with the ids of their records, as one
  JSON array per chunk: the ids of the overlap window are known by the chunks that hold them, and forgotten
  with the chunk once its newest record is older than the window (no read reaches them).

Ids are stored per chunk, not per record: one row per chunk costs a few pages of SQLite's write-ahead log,
where a row per id dirtied a page of the id btree per record (17 of a session's ~50 µs of CPU per record,
measured); `known` answers from a set of the repository's ids read once per TypeCache (and again when another
connection wrote to the file), kept in step by `absorb` and `forget_before`.

The cache is only ever a shortcut. A session first absorbs every chunk of the overlap window that the
repository has and the cache does not know (a chunk written by a session killed before it updated the
cache, or all of them after the directory was lost), so the cache never claims less than the repository
holds (no duplicate) and the watermark only moves after the records below it are stored (no gap).
Plain Python and sqlite3: no Django.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import orjson

_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")  # tenant keys and log types become file names: nothing else may
SCHEMA = """
CREATE TABLE IF NOT EXISTS watermark (repository TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunk (repository TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL,
                                  PRIMARY KEY (repository, key));
CREATE TABLE IF NOT EXISTS chunk_ids (repository TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL,
                                      records INTEGER NOT NULL, ids BLOB NOT NULL, PRIMARY KEY (repository, key));
"""
# The per-record table of earlier versions: its repositories' chunks are forgotten on open (their ids are not
# in chunk_ids), so the session's absorb step reads them again from the repository, as after a lost cache.
OLD_RECORDS = """
DELETE FROM chunk WHERE repository IN (SELECT DISTINCT repository FROM record);
DROP TABLE record;
"""


class CacheError(Exception):
    """The cache directory cannot be used; the message says which and why."""


class LogCache:
    """The cache directory of one proxy."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def open(self, tenant: str, log_type: str) -> TypeCache:
        """The cache of one tenant's log type (created when missing)."""
        for part in (tenant, log_type):
            if not _SAFE.match(part) or part in (".", ".."):
                raise CacheError(f"Not a safe cache name: {part!r}.")
        folder = self.directory / tenant
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return TypeCache(folder / f"{log_type}.sqlite3")
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"Cannot open the log cache in {self.directory}: {exc}") from None


class TypeCache:
    """Watermarks, stored ids and absorbed chunks of one tenant's log type."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: no fsync per commit. In WAL mode a power cut can only take the newest commits back, never
        # one without those before it (https://www.sqlite.org/pragma.html#pragma_synchronous), so the cache
        # returns to an earlier state of itself, which never claims more than the repository holds: the next
        # session's absorb step reads the chunks it forgot, as after a lost cache.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record'").fetchone():
            self._db.executescript(f"BEGIN IMMEDIATE; {OLD_RECORDS} COMMIT;")
        self._ids: dict[str, set[str]] = {}  # per repository, the ids of chunk_ids, once read
        self._version = None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TypeCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def watermark(self, repository: str) -> datetime | None:
        row = self._db.execute("SELECT at FROM watermark WHERE repository = ?", (repository,)).fetchone()
        return datetime.fromtimestamp(row[0], UTC) if row else None

    def set_watermark(self, repository: str, at: datetime) -> None:
        """Move the repository's watermark (never backwards)."""
        self._db.execute("INSERT INTO watermark VALUES (?, ?) ON CONFLICT (repository) DO UPDATE "
                         "SET at = max(at, excluded.at)", (repository, at.timestamp()))

    def known(self, repository: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are stored in `repository` already."""
        return self._stored(repository).intersection(ids)

    def _stored(self, repository: str) -> set[str]:
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:  # another connection wrote to the file: read again what it holds
            self._ids.clear()
            self._version = version
        if repository not in self._ids:
            found: set[str] = set()
            for (ids,) in self._db.execute("SELECT ids FROM chunk_ids WHERE repository = ?", (repository,)):
                found.update(orjson.loads(ids))
            self._ids[repository] = found
        return self._ids[repository]

    def absorbed(self, repository: str) -> set[str]:
        """The keys of the chunks of `repository` whose records the cache knows."""
        return {r[0] for r in self._db.execute("SELECT key FROM chunk WHERE repository = ?", (repository,))}

    def absorb(self, repository: str, chunk_key: str, ids: list[str], last: datetime | None) -> None:
        """Record a stored chunk, the ids of its records and its newest record's time, in one transaction."""
        cut = last.timestamp() if last is not None else 0.0
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("INSERT OR IGNORE INTO chunk_ids VALUES (?, ?, ?, ?, ?)",
                            (repository, chunk_key, cut, len(ids), orjson.dumps(ids)))
                cur.execute("INSERT OR IGNORE INTO chunk VALUES (?, ?, ?)", (repository, chunk_key, cut))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        if repository in self._ids:
            self._ids[repository].update(ids)

    def mark_chunk(self, repository: str, chunk_key: str, last: datetime) -> None:
        """Record a chunk under `repository` without ids (e.g. a primary chunk copied to the secondary)."""
        self._db.execute("INSERT OR IGNORE INTO chunk VALUES (?, ?, ?)", (repository, chunk_key, last.timestamp()))

    def forget_before(self, repository: str, at: datetime) -> int:
        """Drop the chunks whose newest record is older than `at`, with their ids (before the overlap window: no
        read reaches them again); returns how many ids were dropped."""
        cut = at.timestamp()
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                dropped = cur.execute("SELECT coalesce(sum(records), 0) FROM chunk_ids WHERE repository = ? "
                                      "AND last < ?", (repository, cut)).fetchone()[0]
                cur.execute("DELETE FROM chunk_ids WHERE repository = ? AND last < ?", (repository, cut))
                cur.execute("DELETE FROM chunk WHERE repository = ? AND last < ?", (repository, cut))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        if dropped:
            self._ids.pop(repository, None)  # read again when next asked
        return dropped
