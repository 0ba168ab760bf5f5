"""The relation half of a session: membership/ownership pairs, diffed in SQL against the current pairs.

Incoming pairs go (COPY) into session temp tables; new pairs are inserted at once with valid_from = R
(invisible until commit, like objects), and commit() closes the pairs that full listings no longer contain
and the pairs that delta rounds removed. Temp tables vanish with the connection, so a dead session leaves
only its staged rows, which cleanup removes.
"""

# ruff: noqa: S608 - SQL here is composed only of constant fragments; values always go as parameters.

import logging
from collections import Counter
from collections.abc import Iterable

import psycopg

from entrabackup import objecttypes
from repositories.store import copytext

logger = logging.getLogger(__name__)

KINDS = frozenset(objecttypes.RELATIONS)  # declared with their source types in the object type registry

_TEMP_TABLES = """
CREATE TEMP TABLE rel_in (kind text, source_id text, target_id text, target_type text);
CREATE TEMP TABLE rel_seen (kind text, source_id text, target_id text);
CREATE TEMP TABLE rel_scope (kind text, source_id text);
CREATE TEMP TABLE rel_removed (kind text, source_id text, target_id text);
"""
_MATCH = "{a}.kind = {b}.kind AND {a}.source_id = {b}.source_id AND {a}.target_id = {b}.target_id"


class RelationWriter:
    def __init__(self, conn: psycopg.Connection, tenant_id: int, restore_point_id: int):
        self._conn = conn
        self._params = {"t": tenant_id, "r": restore_point_id}
        self._ready = False
        self._complete: set[str] = set()      # kinds listed completely (sources=None)
        self._scoped = False                  # rel_scope has rows
        self._added: Counter[str] = Counter()

    def put_full(self, kind: str, pairs: Iterable[tuple], sources: Iterable[str] | None) -> int:
        with self._conn.transaction():
            self._load_input(kind, pairs)
            added = self._insert_new(kind)
            self._conn.execute(f"DELETE FROM rel_removed x USING rel_in i WHERE {_MATCH.format(a='x', b='i')}")
            self._conn.execute("INSERT INTO rel_seen SELECT kind, source_id, target_id FROM rel_in")
            if sources is None:
                self._complete.add(kind)
            else:
                self._copy("COPY rel_scope (kind, source_id) FROM STDIN",
                           (copytext.text(kind) + b"\t" + copytext.text(s) + b"\n" for s in sources))
                self._scoped = True
        return added

    def put_changes(self, kind: str, added: Iterable[tuple], removed: Iterable[tuple]) -> None:
        with self._conn.transaction():
            self._load_input(kind, added)
            self._insert_new(kind)
            self._conn.execute(f"DELETE FROM rel_removed x USING rel_in i WHERE {_MATCH.format(a='x', b='i')}")
            self._conn.execute("INSERT INTO rel_seen SELECT kind, source_id, target_id FROM rel_in")
            self._load_input(kind, ((s, t, None) for s, t, *_ in removed))
            # A pair added earlier in this session and removed now: drop its staged row.
            self._conn.execute(
                "DELETE FROM relation_version v USING rel_in i WHERE v.tenant_id = %(t)s AND v.valid_from = %(r)s"
                f" AND {_MATCH.format(a='v', b='i')}", self._params)
            self._conn.execute(f"DELETE FROM rel_seen x USING rel_in i WHERE {_MATCH.format(a='x', b='i')}")
            self._conn.execute("INSERT INTO rel_removed SELECT kind, source_id, target_id FROM rel_in")

    def _load_input(self, kind: str, pairs: Iterable[tuple]) -> None:
        """Replace rel_in's rows with these pairs."""
        if kind not in KINDS:
            raise ValueError(f"unknown relation kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        if not self._ready:
            self._conn.execute(_TEMP_TABLES)
            self._ready = True
        self._conn.execute("TRUNCATE rel_in")
        prefix = copytext.text(kind) + b"\t"
        self._copy("COPY rel_in (kind, source_id, target_id, target_type) FROM STDIN",
                   (prefix + b"\t".join((copytext.text(p[0]), copytext.text(p[1]),
                                         copytext.text(p[2] if len(p) > 2 else None))) + b"\n" for p in pairs))
        self._conn.execute("ANALYZE rel_in")  # temp tables get no autovacuum statistics: plan the joins right

    def _insert_new(self, kind: str) -> int:
        count = self._conn.execute(
            "INSERT INTO relation_version (tenant_id, kind, source_id, target_id, target_type, valid_from)"
            " SELECT DISTINCT ON (source_id, target_id) %(t)s, kind, source_id, target_id, target_type, %(r)s"
            " FROM rel_in i WHERE NOT EXISTS (SELECT 1 FROM relation_version c WHERE c.tenant_id = %(t)s"
            f" AND {_MATCH.format(a='c', b='i')} AND c.valid_to IS NULL)", self._params).rowcount
        self._added[kind] += count
        return count

    def _copy(self, statement: str, lines: Iterable[bytes]) -> None:
        with self._conn.cursor() as cur, cur.copy(statement) as copy:
            chunk: list[bytes] = []
            for line in lines:
                chunk.append(line)
                if len(chunk) >= 20000:
                    copy.write(b"".join(chunk))
                    chunk = []
            if chunk:
                copy.write(b"".join(chunk))

    def commit(self) -> dict[str, dict[str, int]]:
        """Close the pairs that disappeared; returns {kind: {"added": n, "removed": n}} (inside commit's transaction)."""
        removed: Counter[str] = Counter()
        if self._ready:
            self._conn.execute("ANALYZE rel_seen")
            open_before_r = "v.tenant_id = %(t)s AND v.valid_to IS NULL AND v.valid_from < %(r)s"
            not_seen = f"NOT EXISTS (SELECT 1 FROM rel_seen s WHERE {_MATCH.format(a='s', b='v')})"
            statements = [f"UPDATE relation_version v SET valid_to = %(r)s FROM rel_removed x WHERE {open_before_r}"
                          f" AND {_MATCH.format(a='v', b='x')} RETURNING v.kind"]
            if self._complete:
                statements.append(f"UPDATE relation_version v SET valid_to = %(r)s WHERE {open_before_r}"
                                  f" AND v.kind = ANY(%(kinds)s) AND {not_seen} RETURNING v.kind")
            if self._scoped:
                statements.append(
                    f"UPDATE relation_version v SET valid_to = %(r)s WHERE {open_before_r} AND {not_seen}"
                    " AND EXISTS (SELECT 1 FROM rel_scope p WHERE p.kind = v.kind AND p.source_id = v.source_id)"
                    " RETURNING v.kind")
            for statement in statements:
                cur = self._conn.execute(statement, {**self._params, "kinds": sorted(self._complete)})
                removed.update(kind for (kind,) in cur)
        kinds = sorted(set(self._added) | set(removed))
        return {kind: {"added": self._added[kind], "removed": removed[kind]} for kind in kinds}
