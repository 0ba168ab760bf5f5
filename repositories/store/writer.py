"""The write path of one session: stage versions with COPY, make them visible in one commit transaction.

Rows are written straight into object_version / relation_version with valid_from = R, the session's restore
point. Readers only ever use committed restore points, all lower than R, so staged rows stay invisible until
commit() closes the superseded versions, writes the tombstones and flips R to 'committed' in ONE transaction.
A session that dies leaves only rows with valid_from = R of a 'staging' restore point; the next session of
the tenant (or RepositoryStore.cleanup) deletes them.
"""

import logging
from collections.abc import Iterable, Iterator
from itertools import islice

import psycopg
from psycopg.copy import QueuedLibpqWriter

from repositories.store import copytext
from repositories.store.canonical import content_hash, search_fields, stored
from repositories.store.compress import compress
from repositories.store.errors import StoreError
from repositories.store.reader import load_data
from repositories.store.relwriter import RelationWriter
from repositories.store.rows import TypeCounts

logger = logging.getLogger(__name__)

DELTA_BATCH = 2000      # delta items per round trip (their previous versions are fetched in one query)
COPY_CHUNK = 1 << 20    # bytes handed to copy.write() at once
COPY_OBJECTS = ("COPY object_version (tenant_id, object_type, object_id, valid_from, content_hash, data, "
                "display_name, upn, mail, app_id) FROM STDIN")
REMOVED_REASONS = {"changed": "soft", "deleted": "hard"}  # Graph delta `@removed.reason`


class _TypeState:
    """What the session knows and did for one object type."""

    def __init__(self, current: dict[str, bytes | str]):
        self.current = current                # id -> content hash (live) or deletion reason (tombstone), before R
        self.written: dict[str, bytes] = {}   # id -> hash of the version staged at R
        self.deletions: dict[str, str] = {}   # id -> 'soft' | 'hard', from delta `@removed`
        self.seen: set[str] | None = None     # ids of a full read; None when the type was not fully read
        self.soft: set[str] = set()           # ids found in /directory/deletedItems
        self.counts = TypeCounts()


class ChunkedCopy:
    """Collect COPY text rows and hand them to PostgreSQL in large chunks from a writer thread."""

    def __init__(self, conn: psycopg.Connection, statement: str):
        self._cursor = conn.cursor()
        self._statement = statement
        self._lines: list[bytes] = []
        self._size = 0

    def __enter__(self) -> "ChunkedCopy":
        # The queued writer sends from a thread, so building the next chunk overlaps the server's work.
        self._manager = self._cursor.copy(self._statement, writer=QueuedLibpqWriter(self._cursor))
        self._copy = self._manager.__enter__()
        return self

    def write(self, line: bytes) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size >= COPY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._copy.write(b"".join(self._lines))
            self._lines, self._size = [], 0

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        if exc_type is None:
            self._flush()
        try:
            return self._manager.__exit__(exc_type, exc, tb)
        finally:
            self._cursor.close()


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class SessionWriter:
    """Writes one restore point of one tenant; obtained from RepositoryStore.session()."""

    def __init__(self, conn: psycopg.Connection, tenant_id: int, restore_point_id: int, kind: str):
        self._conn = conn
        self.tenant_id = tenant_id
        self.restore_point_id = restore_point_id
        self.kind = kind
        self.committed = False
        self._types: dict[str, _TypeState] = {}
        self._sync: dict[str, str | None] = {}
        self._relations = RelationWriter(conn, tenant_id, restore_point_id)
        self._prefix = b"%d\t" % tenant_id
        self._rid = b"%d" % restore_point_id

    # -- objects ---------------------------------------------------------------------------------------
    def put_full(self, object_type: str, objects: Iterable[dict]) -> TypeCounts:
        """A complete read of the type: stage new and changed objects; unseen ones are deleted at commit."""
        st = self._state(object_type)
        if st.seen is None:
            st.seen = set()
        counts, late = TypeCounts(), {}
        type_b = copytext.text(object_type)
        with self._conn.transaction(), ChunkedCopy(self._conn, COPY_OBJECTS) as out:
            for obj in objects:
                data = stored(obj)
                object_id = _object_id(data, object_type)
                counts.read += 1
                st.seen.add(object_id)
                st.deletions.pop(object_id, None)
                digest = content_hash(data, object_type)
                if object_id in st.written:  # read twice in this session: fix the staged row after the COPY
                    if st.written[object_id] != digest:
                        late[object_id] = (data, digest)
                    continue
                self._stage(st, type_b, object_id, data, digest, out, counts)
        if late:
            self._restage(object_type, st, late, counts)
        counts.deleted = sum(1 for oid, cur in st.current.items()
                             if isinstance(cur, bytes) and oid not in st.seen and oid not in st.written)
        st.counts.add(counts)
        logger.info("put_full %s: %s", object_type, counts.as_dict())
        return counts

    def put_delta(self, object_type: str, items: Iterable[dict]) -> TypeCounts:
        """Delta items overlay the current versions; `@removed` items become tombstones at commit."""
        st = self._state(object_type)
        counts = TypeCounts()
        for batch in _batches(items, DELTA_BATCH):
            counts.read += len(batch)
            self._delta_batch(object_type, st, _merge_overlays(batch, object_type), counts)
        st.counts.add(counts)
        logger.info("put_delta %s: %s", object_type, counts.as_dict())
        return counts

    def _delta_batch(self, object_type: str, st: _TypeState, merged: dict, counts: TypeCounts) -> None:
        type_b = copytext.text(object_type)
        with self._conn.transaction():
            bases = self._last_data(object_type, [oid for oid, v in merged.items() if isinstance(v, dict)])
            self._unstage(object_type, st, [oid for oid in merged if oid in st.written])
            with ChunkedCopy(self._conn, COPY_OBJECTS) as out:
                for object_id, item in merged.items():
                    if isinstance(item, str):  # a removal
                        st.deletions[object_id] = item
                        counts.deleted += isinstance(st.current.get(object_id), bytes)
                        continue
                    st.deletions.pop(object_id, None)
                    data = stored({**bases[object_id], **item}) if object_id in bases else stored(item)
                    self._stage(st, type_b, object_id, data, content_hash(data, object_type), out, counts)

    def mark_soft_deleted(self, object_type: str, ids: Iterable[str]) -> None:
        """Ids listed in /directory/deletedItems: tombstone 'soft' (in the recycle bin) rather than 'missing'."""
        self._state(object_type).soft.update(ids)

    def _stage(self, st: _TypeState, type_b: bytes, object_id: str, data: dict, digest: bytes,
               out: ChunkedCopy, counts: TypeCounts) -> None:
        current = st.current.get(object_id)
        if current == digest:
            counts.unchanged += 1
            return
        if current is None:
            counts.new += 1
        else:
            counts.changed += 1
        out.write(self._row(type_b, object_id, digest, data))
        st.written[object_id] = digest

    def _row(self, type_b: bytes, object_id: str, digest: bytes, data: dict) -> bytes:
        name, upn, mail, app_id = search_fields(data)
        return b"\t".join((self._prefix + type_b, copytext.text(object_id), self._rid, copytext.bytea(digest),
                           copytext.json(data), copytext.text(name), copytext.text(upn), copytext.text(mail),
                           copytext.text(app_id))) + b"\n"

    def _restage(self, object_type: str, st: _TypeState, late: dict, counts: TypeCounts) -> None:
        """Replace staged rows of objects that came again with other content in the same session."""
        type_b = copytext.text(object_type)
        with self._conn.transaction():
            self._unstage(object_type, st, list(late))
            with ChunkedCopy(self._conn, COPY_OBJECTS) as out:
                for object_id, (data, digest) in late.items():
                    self._stage(st, type_b, object_id, data, digest, out, TypeCounts())

    def _unstage(self, object_type: str, st: _TypeState, ids: list[str]) -> None:
        if not ids:
            return
        self._conn.execute(
            "DELETE FROM object_version WHERE tenant_id = %s AND object_type = %s AND object_id = ANY(%s)"
            " AND valid_from = %s", [self.tenant_id, object_type, ids, self.restore_point_id])
        for object_id in ids:
            del st.written[object_id]

    def _last_data(self, object_type: str, ids: list[str]) -> dict[str, dict]:
        """The last known data of these objects (staged in this session, current, or before a deletion)."""
        if not ids:
            return {}
        cur = self._conn.cursor(binary=True)
        cur.execute(
            "SELECT DISTINCT ON (object_id) object_id, data::text, data_z FROM object_version WHERE tenant_id = %s"
            " AND object_type = %s AND object_id = ANY(%s) AND deleted IS NULL ORDER BY object_id, valid_from DESC",
            [self.tenant_id, object_type, ids])
        return {object_id: load_data(text, stored) for object_id, text, stored in cur}

    def _state(self, object_type: str) -> _TypeState:
        self._check_open()
        st = self._types.get(object_type)
        if st is None:
            rows = self._conn.execute(
                "SELECT object_id, content_hash, deleted FROM object_version"
                " WHERE tenant_id = %s AND object_type = %s AND valid_to IS NULL AND valid_from < %s",
                [self.tenant_id, object_type, self.restore_point_id]).fetchall()
            st = self._types[object_type] = _TypeState({oid: deleted or bytes(h) for oid, h, deleted in rows})
        return st

    # -- relations and sync state -----------------------------------------------------------------------
    def put_relations_full(self, kind: str, pairs: Iterable[tuple], sources: Iterable[str] | None = None) -> int:
        """A complete listing of `kind` for `sources` (None: for every source); returns pairs added."""
        self._check_open()
        return self._relations.put_full(kind, pairs, sources)

    def put_relation_changes(self, kind: str, added: Iterable[tuple] = (), removed: Iterable[tuple] = ()) -> None:
        """Delta changes: pairs (source_id, target_id, target_type) added, (source_id, target_id) removed."""
        self._check_open()
        self._relations.put_changes(kind, added, removed)

    def set_sync_state(self, name: str, value: str | None) -> None:
        """Saved in the commit transaction, so a delta link never runs ahead of the data it covers."""
        self._check_open()
        self._sync[name] = value

    def sync_state(self, name: str) -> str | None:
        """The value as of the last committed restore point (not what this session set)."""
        row = self._conn.execute("SELECT value FROM sync_state WHERE tenant_id = %s AND name = %s",
                                 [self.tenant_id, name]).fetchone()
        return row[0] if row else None

    # -- commit ------------------------------------------------------------------------------------------
    def commit(self, stats: dict | None = None) -> int:
        """Make the restore point visible, all or nothing; returns its id."""
        self._check_open()
        with self._conn.transaction():
            hard: list[str] = []
            for object_type, st in self._types.items():
                st.counts.deleted = self._commit_type(object_type, st)
                hard += [oid for oid, reason in _final_deletions(st).items() if reason == "hard"]
            relations = self._relations.commit()
            self._close_relations_of(hard)
            self._commit_sync_state()
            summary = dict(stats or {})
            summary["objects"] = {t: st.counts.as_dict() for t, st in self._types.items()}
            summary["relations"] = relations
            done = self._conn.execute(
                "UPDATE restore_point SET state = 'committed', committed_at = now(), types = %s, stats = %s"
                " WHERE id = %s AND state = 'staging'",
                [sorted(self._types), psycopg.types.json.Jsonb(summary), self.restore_point_id]).rowcount
            if done != 1:
                raise StoreError(f"Restore point {self.restore_point_id} is no longer staging; nothing was committed.")
        self.committed = True
        logger.info("Committed restore point %s of tenant %s", self.restore_point_id, self.tenant_id)
        return self.restore_point_id

    def _commit_type(self, object_type: str, st: _TypeState) -> int:
        """Write the tombstones and close the superseded versions of one type; returns the deletions."""
        tombs = _final_deletions(st)
        params = {"t": self.tenant_id, "type": object_type, "r": self.restore_point_id}
        if tombs:
            self._conn.execute(
                "INSERT INTO object_version (tenant_id, object_type, object_id, valid_from, deleted,"
                " display_name, upn, mail, app_id)"
                " SELECT o.tenant_id, o.object_type, o.object_id, %(r)s, d.reason, o.display_name, o.upn, o.mail,"
                " o.app_id FROM unnest(%(ids)s::text[], %(reasons)s::text[]) AS d(id, reason)"
                " JOIN object_version o ON o.tenant_id = %(t)s AND o.object_type = %(type)s AND o.object_id = d.id"
                " AND o.valid_to IS NULL AND o.valid_from < %(r)s",
                {**params, "ids": list(tombs), "reasons": list(tombs.values())})
        close = [oid for oid in st.written if oid in st.current] + list(tombs)
        if close:
            self._conn.execute(
                "UPDATE object_version SET valid_to = %(r)s WHERE tenant_id = %(t)s AND object_type = %(type)s"
                " AND object_id = ANY(%(ids)s) AND valid_to IS NULL AND valid_from < %(r)s",
                {**params, "ids": close})
            self._compress_closed(params)
        return len(tombs)

    def _compress_closed(self, params: dict) -> None:
        """The versions this commit superseded keep their JSON compressed: they are read rarely and, with
        daily churn, they are most of a repository's growth (compress.py)."""
        rows = self._conn.execute(
            "SELECT object_id, data::text FROM object_version WHERE tenant_id = %(t)s AND object_type = %(type)s"
            " AND valid_to = %(r)s AND data IS NOT NULL", params).fetchall()
        if not rows:
            return
        self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS closed_data (object_id text, data_z bytea) ON COMMIT DELETE ROWS")
        with self._conn.cursor().copy("COPY closed_data (object_id, data_z) FROM STDIN") as copy:
            for object_id, text in rows:
                copy.write_row((object_id, compress(text.encode())))
        self._conn.execute(
            "UPDATE object_version v SET data_z = c.data_z, data = NULL FROM closed_data c"
            " WHERE v.tenant_id = %(t)s AND v.object_type = %(type)s AND v.valid_to = %(r)s AND v.object_id = c.object_id",
            params)
        self._conn.execute("DELETE FROM closed_data")

    def _close_relations_of(self, object_ids: list[str]) -> None:
        """A permanently deleted object leaves every relationship, as in Entra (memberships, owners, manager),
        even those Graph's delta rounds never report (owners are not tracked by delta)."""
        if object_ids:
            self._conn.execute(
                "UPDATE relation_version SET valid_to = %(r)s WHERE tenant_id = %(t)s AND valid_to IS NULL"
                " AND valid_from < %(r)s AND (source_id = ANY(%(ids)s) OR target_id = ANY(%(ids)s))",
                {"t": self.tenant_id, "r": self.restore_point_id, "ids": object_ids})

    def _commit_sync_state(self) -> None:
        for name, value in self._sync.items():
            self._conn.execute(
                "INSERT INTO sync_state (tenant_id, name, value, restore_point_id) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, name) DO UPDATE SET value = EXCLUDED.value,"
                " restore_point_id = EXCLUDED.restore_point_id",
                [self.tenant_id, name, value, self.restore_point_id])

    def _check_open(self) -> None:
        if self.committed:
            raise StoreError(f"Restore point {self.restore_point_id} is already committed.")


def _object_id(data: dict, object_type: str) -> str:
    object_id = data.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise StoreError(f"A {object_type} object without an id cannot be stored.")
    return object_id


def _merge_overlays(batch: list[dict], object_type: str) -> dict[str, dict | str]:
    """id -> merged overlay (later items overlay earlier ones) or a deletion reason, in first-seen order."""
    merged: dict[str, dict | str] = {}
    for item in batch:
        object_id = _object_id(item, object_type)
        removed = item.get("@removed")
        if removed is not None:
            reason = removed.get("reason") if isinstance(removed, dict) else None
            merged[object_id] = REMOVED_REASONS.get(reason, "soft")
            continue
        previous = merged.get(object_id)
        merged[object_id] = {**previous, **item} if isinstance(previous, dict) else item
    return merged


def _final_deletions(st: _TypeState) -> dict[str, str]:
    """id -> tombstone reason, for the deletions that change something (a live object, or another reason)."""
    result = dict(st.deletions)
    if st.seen is not None:
        for object_id, current in st.current.items():
            if isinstance(current, bytes) and object_id not in st.seen and object_id not in st.written:
                result.setdefault(object_id, "soft" if object_id in st.soft else "missing")
    for object_id in st.soft:
        if object_id not in st.written and (st.seen is None or object_id not in st.seen):
            result.setdefault(object_id, "soft")
    return {oid: reason for oid, reason in result.items() if oid in st.current and st.current[oid] != reason}
