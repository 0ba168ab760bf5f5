"""The cache repository: what a proxy knows about the logs it has stored, so overlapping reads store nothing twice.

One SQLite file per tenant and log type under the proxy's cache directory (ENTRABACKUP_CACHE_DIR) holds:
- the watermarks: per repository, the time up to which every record Graph served has been stored there;
- per repository, the ids of the records stored within the overlap window (older ones are forgotten: no
  read reaches them);
- the chunks absorbed: every chunk whose records are in the id set, by the repository's chunk key.

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
CREATE TABLE IF NOT EXISTS record (repository TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL,
                                   PRIMARY KEY (repository, id));
CREATE INDEX IF NOT EXISTS record_at ON record (repository, at);
CREATE TABLE IF NOT EXISTS chunk (repository TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL,
                                  PRIMARY KEY (repository, key));
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
        self._db.execute("PRAGMA synchronous=FULL")  # a watermark must not outlive a power cut that lost its ids
        self._db.executescript(SCHEMA)

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
        ids, found = list(ids), set()
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self._db.execute(
                f"SELECT id FROM record WHERE repository = ? AND id IN ({marks})", [repository, *part]))  # noqa: S608
        return found

    def absorbed(self, repository: str) -> set[str]:
        """The keys of the chunks of `repository` whose records the cache knows."""
        return {r[0] for r in self._db.execute("SELECT key FROM chunk WHERE repository = ?", (repository,))}

    def absorb(self, repository: str, chunk_key: str, records: Iterable[tuple[str, datetime]]) -> None:
        """Record a stored chunk and its records' (id, time), in one transaction."""
        # One JSON parameter, unpacked by json_each: the loop runs in SQLite, which releases the GIL while it
        # works (executemany binds each row under the GIL); the same rows, a third cheaper (measured).
        rows = [[rid, at.timestamp()] for rid, at in records]
        last = max((t for _, t in rows), default=0.0)
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                data = orjson.dumps(rows)
                if b"\\u0000" in data:  # SQLite's JSON would cut an id at a NUL character: row by row then
                    cur.executemany("INSERT OR IGNORE INTO record VALUES (?, ?, ?)", [(repository, *r) for r in rows])
                else:
                    cur.execute("INSERT OR IGNORE INTO record SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)",
                                (repository, data))
                cur.execute("INSERT OR IGNORE INTO chunk VALUES (?, ?, ?)", (repository, chunk_key, last))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def mark_chunk(self, repository: str, chunk_key: str, last: datetime) -> None:
        """Record a chunk under `repository` without ids (e.g. a primary chunk copied to the secondary)."""
        self._db.execute("INSERT OR IGNORE INTO chunk VALUES (?, ?, ?)", (repository, chunk_key, last.timestamp()))

    def forget_before(self, repository: str, at: datetime) -> int:
        """Drop ids and chunk keys older than `at` (before the overlap window: no read reaches them again)."""
        cut = at.timestamp()
        dropped = self._db.execute("DELETE FROM record WHERE repository = ? AND at < ?", (repository, cut)).rowcount
        self._db.execute("DELETE FROM chunk WHERE repository = ? AND last < ?", (repository, cut))
        return dropped
