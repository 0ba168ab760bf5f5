"""RepositoryStore: the public face of the Entra ID backup repository (plain psycopg 3, no Django)."""

import functools
import inspect
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg

from repositories.store import diff, maintenance, reader, schema
from repositories.store.errors import StoreError, StoreNotFoundError, TenantLockedError, connect, explain
from repositories.store.rows import ObjectRow, RelationRow, RestorePoint, TypeCounts, VersionRow
from repositories.store.writer import SessionWriter

logger = logging.getLogger(__name__)

KINDS = ("full", "incremental")
def _translated(method):
    """Raise a driver error met inside `method` (a broken connection, a refusal) as the StoreError subclass
    that explains it: no psycopg exception leaves the store."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self, *args, **kwargs):
            try:
                yield from method(self, *args, **kwargs)
            except psycopg.Error as exc:
                self._broken(exc)
        return generator

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            self._broken(exc)
    return wrapper


class RepositoryStore:
    """One repository database. Connections open lazily; reads share one autocommit connection (psycopg
    serialises its use across threads); each write session and each streaming read has its own."""

    def __init__(self, conninfo: str, *, lock_timeout: float = 10.0, connect_timeout: int = 10):
        self._conninfo = conninfo
        self.lock_timeout = lock_timeout
        self._connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._mutex = threading.Lock()
        self._schema_ok = False

    def __repr__(self) -> str:  # never the conninfo: it may hold a password
        return "<RepositoryStore>"

    # -- connections -------------------------------------------------------------------------------------
    def _new_connection(self) -> psycopg.Connection:
        return connect(self._conninfo, connect_timeout=self._connect_timeout)

    def _connection(self) -> psycopg.Connection:
        with self._mutex:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._new_connection()
            return self._conn

    def _ready(self) -> psycopg.Connection:
        """The shared connection, once the schema is known to match this code."""
        conn = self._connection()
        if not self._schema_ok:
            schema.require_current(conn)
            self._schema_ok = True
        return conn

    def _broken(self, exc: Exception):
        self.close()
        raise explain(exc, self._conninfo) from None

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "RepositoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema and health -------------------------------------------------------------------------------
    @_translated
    def migrate(self) -> list[int]:
        applied = schema.migrate(self._connection())
        self._schema_ok = False
        return applied

    @_translated
    def schema_version(self) -> int:
        return schema.current_version(self._connection())

    def check(self) -> dict:
        """Reachability, versions, write permission and size; StoreError explains a failure."""
        try:
            conn = self._connection()
            version = schema.current_version(conn)
            row = conn.execute(
                "SELECT current_setting('server_version'), pg_database_size(current_database()),"
                " CASE WHEN to_regclass('object_version') IS NULL"
                "  THEN has_schema_privilege(current_schema(), 'CREATE')"
                "  ELSE has_table_privilege('object_version', 'INSERT, UPDATE, DELETE') END").fetchone()
        except psycopg.Error as exc:
            self._broken(exc)
        return {"server_version": row[0], "schema_version": version, "latest_schema": schema.LATEST,
                "can_write": bool(row[2]), "database_size_bytes": row[1]}

    # -- tenants -------------------------------------------------------------------------------------------
    @_translated
    def tenant_ensure(self, key: str, directory_id: str, name: str) -> int:
        """Create the tenant or update its directory id and name; returns its id."""
        return self._ready().execute(
            "INSERT INTO tenant (key, directory_id, name) VALUES (%s, %s, %s) ON CONFLICT (key)"
            " DO UPDATE SET directory_id = EXCLUDED.directory_id, name = EXCLUDED.name RETURNING id",
            [key, directory_id, name]).fetchone()[0]

    def _tenant_id(self, conn: psycopg.Connection, key: str) -> int:
        row = conn.execute("SELECT id FROM tenant WHERE key = %s", [key]).fetchone()
        if row is None:
            raise StoreNotFoundError(f"Unknown tenant {key!r} in the repository.")
        return row[0]

    @contextmanager
    def _locked(self, tenant_key: str, timeout: float):
        """A dedicated connection holding the tenant lock; TenantLockedError if a session keeps it past `timeout`."""
        conn = self._new_connection()
        try:
            schema.require_current(conn)
            tenant_id = self._tenant_id(conn, tenant_key)
            if not maintenance.lock_tenant(conn, tenant_id, timeout):
                raise TenantLockedError(f"Another session of tenant {tenant_key!r} is running (lock not available "
                                        f"within {timeout:g} s).")
            yield conn, tenant_id
        finally:
            conn.close()  # also releases the lock

    @_translated
    def tenant_purge(self, key: str) -> dict:
        """Remove every row of the tenant; returns the rows deleted per table."""
        with self._locked(key, self.lock_timeout) as (conn, tenant_id):
            return maintenance.purge(conn, tenant_id)

    # -- writing -----------------------------------------------------------------------------------------
    @contextmanager
    def session(self, tenant_key: str, session_key: str, kind: str) -> Iterator[SessionWriter]:
        """Write one restore point. Leaving the block without commit() (or with an exception) removes it."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        try:
            with self._locked(tenant_key, self.lock_timeout) as (conn, tenant_id):
                yield from self._staged(conn, tenant_id, session_key, kind)
        except psycopg.Error as exc:  # psycopg speaks only for the store inside the block (Django wraps its own)
            raise explain(exc, self._conninfo) from None

    def _staged(self, conn: psycopg.Connection, tenant_id: int, session_key: str, kind: str) -> Iterator[SessionWriter]:
        maintenance.delete_staging(conn, tenant_id)
        try:
            r = conn.execute("INSERT INTO restore_point (tenant_id, session_key, kind) VALUES (%s, %s, %s)"
                             " RETURNING id", [tenant_id, session_key, kind]).fetchone()[0]
        except psycopg.errors.UniqueViolation:
            raise StoreError(f"Session {session_key!r} already has a committed restore point.") from None
        writer = SessionWriter(conn, tenant_id, r, kind)
        try:
            yield writer
        finally:
            if not writer.committed:
                self._abort(conn, tenant_id, r)

    def _abort(self, conn: psycopg.Connection, tenant_id: int, r: int) -> None:
        try:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
            maintenance.delete_staging(conn, tenant_id, only=r)
        except psycopg.Error as exc:  # the next session of the tenant removes them
            logger.warning("Could not remove staging restore point %s: %s", r, type(exc).__name__)

    @_translated
    def cleanup(self, tenant_key: str, *, timeout: float = 0) -> int:
        """Remove what dead sessions left; returns the staging restore points removed.

        0 when a live session holds the tenant (after waiting up to `timeout` s for it): it is not dead.
        """
        try:
            with self._locked(tenant_key, timeout) as (conn, tenant_id):
                return maintenance.delete_staging(conn, tenant_id)
        except TenantLockedError:
            return 0

    # -- restore points ------------------------------------------------------------------------------------
    @_translated
    def restore_points(self, tenant_key: str) -> list[RestorePoint]:
        """Committed restore points, newest first (none for a tenant the repository does not know yet)."""
        conn = self._ready()
        cur = conn.execute(
            "SELECT r.id, r.session_key, r.kind, r.started_at, r.committed_at, r.types, r.stats FROM restore_point r"
            " JOIN tenant t ON t.id = r.tenant_id WHERE t.key = %s AND r.state = 'committed' ORDER BY r.id DESC",
            [tenant_key])
        return [RestorePoint(*row) for row in cur]

    @staticmethod
    def _point_filters(tenant_key: str, kind, start, end) -> tuple[list[str], list]:
        # The tenant's id as a subquery (an InitPlan): the planner then walks restore_point_committed in order
        # and stops after a page; a JOIN on the key made it sort every point of the tenant.
        where, args = ["r.tenant_id = (SELECT id FROM tenant WHERE key = %s)", "r.state = 'committed'"], [tenant_key]
        for clause, value in (("r.kind = %s", kind), ("r.committed_at >= %s", start), ("r.committed_at < %s", end)):
            if value is not None:
                where.append(clause)
                args.append(value)
        return where, args

    @_translated
    def restore_point_page(self, tenant_key: str, *, limit: int, kind: str | None = None, start=None, end=None,
                           before: tuple | None = None) -> list[tuple[RestorePoint, int | None]]:
        """Up to `limit` committed restore points, newest first by (committed_at, id), older than `before`
        (a (committed_at, id) keyset cursor), each with the id of the committed point before it (None for the
        first). The index restore_point_committed answers it as a range (docs/benchmarks.md)."""
        where, args = self._point_filters(tenant_key, kind, start, end)
        if before is not None:
            where.append("(r.committed_at, r.id) < (%s, %s)")
            args += list(before)
        conn = self._ready()
        sql = ("SELECT r.id, r.session_key, r.kind, r.started_at, r.committed_at, r.types, r.stats,"  # noqa: S608 - fixed clauses
               " (SELECT max(p.id) FROM restore_point p WHERE p.tenant_id = r.tenant_id AND p.state = 'committed'"
               "  AND p.id < r.id) FROM restore_point r"
               f" WHERE {' AND '.join(where)} ORDER BY r.committed_at DESC, r.id DESC LIMIT %s")
        cur = conn.execute(sql, [*args, limit])
        return [(RestorePoint(*row[:7]), row[7]) for row in cur]

    @_translated
    def count_restore_points(self, tenant_key: str, *, kind: str | None = None, start=None, end=None,
                             cap: int | None = None) -> int:
        """How many committed restore points match, counted up to `cap` + 1 when a cap is given (a count of
        200,000 index entries takes 50 ms; `cap` + 1 says "more than cap")."""
        where, args = self._point_filters(tenant_key, kind, start, end)
        conn = self._ready()
        limit = f" LIMIT {int(cap) + 1}" if cap is not None else ""
        sql = f"SELECT count(*) FROM (SELECT 1 FROM restore_point r WHERE {' AND '.join(where)}{limit}) AS found"  # noqa: S608 - fixed clauses
        return conn.execute(sql, args).fetchone()[0]

    @_translated
    def restore_point_summary(self, tenant_keys: list[str], cap: int) -> dict[str, tuple[int, RestorePoint | None]]:
        """For each of these tenants the repository knows: (its number of committed restore points counted up to
        `cap` + 1, the newest one or None), in one query (the Restore page's rows)."""
        conn = self._ready()
        cur = conn.execute(
            "SELECT t.key, c.n, r.id, r.session_key, r.kind, r.started_at, r.committed_at, r.types, r.stats"
            " FROM tenant t CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM restore_point p"
            "  WHERE p.tenant_id = t.id AND p.state = 'committed' LIMIT %s) AS found) c"
            " LEFT JOIN LATERAL (SELECT * FROM restore_point p WHERE p.tenant_id = t.id AND p.state = 'committed'"
            "  ORDER BY p.committed_at DESC, p.id DESC LIMIT 1) r ON true WHERE t.key = ANY(%s)",
            [int(cap) + 1, list(tenant_keys)])
        return {str(row[0]): (row[1], RestorePoint(*row[2:]) if row[2] is not None else None) for row in cur}

    def latest_restore_point(self, tenant_key: str) -> RestorePoint | None:
        points = self.restore_points(tenant_key)
        return points[0] if points else None

    def _resolve(self, tenant_key: str, restore_point_id: int) -> tuple[psycopg.Connection, int]:
        conn = self._ready()
        tenant_id = self._tenant_id(conn, tenant_key)
        row = conn.execute("SELECT 1 FROM restore_point WHERE id = %s AND tenant_id = %s AND state = 'committed'",
                           [restore_point_id, tenant_id]).fetchone()
        if row is None:
            raise StoreNotFoundError(f"Tenant {tenant_key!r} has no committed restore point {restore_point_id}.")
        return conn, tenant_id

    @_translated
    def sync_state(self, tenant_key: str, name: str) -> str | None:
        conn = self._ready()
        row = conn.execute("SELECT value FROM sync_state WHERE tenant_id = %s AND name = %s",
                           [self._tenant_id(conn, tenant_key), name]).fetchone()
        return row[0] if row else None

    # -- as-of reads ---------------------------------------------------------------------------------------
    @_translated
    def objects(self, tenant_key: str, restore_point_id: int, *, object_type: str | None = None,
                search: str | None = None, include_deleted: bool = False, limit: int = 100,
                offset: int = 0) -> list[ObjectRow]:
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return reader.objects(conn, tenant_id, restore_point_id, object_type=object_type, search=search,
                              include_deleted=include_deleted, limit=limit, offset=offset)

    @_translated
    def count_objects(self, tenant_key: str, restore_point_id: int, object_type: str | None = None,
                      search: str | None = None, include_deleted: bool | str = False) -> int:
        """Objects matching as of R; `include_deleted` True counts tombstones too, "only" them alone."""
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return reader.count_objects(conn, tenant_id, restore_point_id, object_type, search, include_deleted)

    @_translated
    def type_counts(self, tenant_key: str, restore_point_id: int) -> dict[str, int]:
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return reader.type_counts(conn, tenant_id, restore_point_id)

    @_translated
    def get_object(self, tenant_key: str, restore_point_id: int, object_type: str, object_id: str) -> ObjectRow | None:
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return reader.get_object(conn, tenant_id, restore_point_id, object_type, object_id)

    @_translated
    def iter_objects(self, tenant_key: str, restore_point_id: int, object_type: str) -> Iterator[dict]:
        """Stream every live object of a type as of R, on a connection of its own."""
        _, tenant_id = self._resolve(tenant_key, restore_point_id)
        with self._new_connection() as conn:
            yield from reader.iter_objects(conn, tenant_id, restore_point_id, object_type)

    @_translated
    def relations(self, tenant_key: str, restore_point_id: int, *, kind: str | None = None,
                  source_id: str | None = None, target_id: str | None = None) -> list[RelationRow]:
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return reader.relations(conn, tenant_id, restore_point_id, kind=kind, source_id=source_id,
                                target_id=target_id)

    @_translated
    def iter_relations(self, tenant_key: str, restore_point_id: int, kind: str) -> Iterator[RelationRow]:
        _, tenant_id = self._resolve(tenant_key, restore_point_id)
        with self._new_connection() as conn:
            yield from reader.iter_relations(conn, tenant_id, restore_point_id, kind)

    @_translated
    def object_history(self, tenant_key: str, object_type: str, object_id: str) -> list[VersionRow]:
        latest = self.latest_restore_point(tenant_key)
        if latest is None:
            return []
        conn = self._ready()
        return reader.object_history(conn, self._tenant_id(conn, tenant_key), latest.id, object_type, object_id)

    @_translated
    def changes(self, tenant_key: str, restore_point_id: int) -> dict[str, TypeCounts]:
        """What restore point R changed per object type: its recorded counts, else computed from its rows."""
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        stats = conn.execute("SELECT stats FROM restore_point WHERE id = %s", [restore_point_id]).fetchone()[0]
        recorded = (stats or {}).get("objects")
        if recorded is None:
            recorded = reader.computed_changes(conn, tenant_id, restore_point_id)
        return {t: TypeCounts(**{k: v for k, v in c.items() if k in TypeCounts.__dataclass_fields__})
                for t, c in sorted(recorded.items())}

    # -- differences (diff.py; restore/compare.py builds change reports from them) ---------------------------
    @_translated
    def differences(self, tenant_key: str, from_id: int, to_id: int, *, types=None, kinds=None,
                    object_id: str | None = None) -> tuple[list[diff.ObjectDiff], list[diff.RelationDiff]]:
        """Objects and relationship pairs that differ between two committed restore points."""
        conn, tenant_id = self._resolve(tenant_key, from_id)
        self._resolve(tenant_key, to_id)
        return (diff.changed_objects(conn, tenant_id, from_id, to_id, types=types, object_id=object_id),
                diff.changed_relations(conn, tenant_id, from_id, to_id, kinds=kinds, object_id=object_id))

    @_translated
    def object_states(self, tenant_key: str, restore_point_id: int, object_type: str) -> dict:
        """id -> (content hash, deletion state) of every object of the type as of the restore point."""
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return diff.states(conn, tenant_id, restore_point_id, object_type)

    @_translated
    def object_sides(self, tenant_key: str, restore_point_id: int, object_type: str, ids: list[str]) -> dict:
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return diff.sides(conn, tenant_id, restore_point_id, object_type, ids)

    @_translated
    def relation_pairs(self, tenant_key: str, restore_point_id: int, kind: str) -> dict[tuple[str, str], str | None]:
        """(source, target) -> target type of every pair of the kind as of the restore point."""
        conn, tenant_id = self._resolve(tenant_key, restore_point_id)
        return {(s, t): tt for s, t, tt in diff.relation_pairs(conn, tenant_id, restore_point_id, kind)}

    @_translated
    def names(self, tenant_key: str, ids: list[str], restore_point_id: int | None = None) -> dict[str, tuple]:
        """id -> (object type, display name, upn, appId, deletion state as of the restore point) of known ids."""
        conn = self._ready()
        return diff.names(conn, self._tenant_id(conn, tenant_key), sorted(set(ids)), restore_point_id)

    @_translated
    def object_timeline(self, tenant_key: str, object_id: str) -> tuple[list[tuple], list[tuple]]:
        """The object's relationship versions and the versions of role / app role assignments it holds."""
        latest = self.latest_restore_point(tenant_key)
        if latest is None:
            return [], []
        conn = self._ready()
        tenant_id = self._tenant_id(conn, tenant_key)
        return (diff.relation_history(conn, tenant_id, object_id, latest.id),
                diff.assignments_of(conn, tenant_id, object_id, latest.id))

    # -- retention and size --------------------------------------------------------------------------------
    @_translated
    def prune(self, tenant_key: str, *, keep_restore_points: int | None = None, keep_days: int | None = None,
              now: datetime | None = None) -> dict:
        """Expire restore points outside the policy (never the newest) and the versions only they saw."""
        with self._locked(tenant_key, self.lock_timeout) as (conn, tenant_id):
            maintenance.delete_staging(conn, tenant_id)
            expired = maintenance.expired_restore_points(conn, tenant_id, keep_restore_points, keep_days, now)
            counts = maintenance.prune(conn, tenant_id, expired)
            return {**counts, "expired": expired}

    @_translated
    def size_bytes(self) -> int:
        return maintenance.size_bytes(self._connection())

    @_translated
    def tenant_size_bytes(self, tenant_key: str) -> int:
        conn = self._ready()
        return maintenance.tenant_size_bytes(conn, self._tenant_id(conn, tenant_key))



    @_translated
    def restore_point_counts(self) -> dict[str, int]:
        """Committed restore points per tenant key (tenants the repository knows with none count 0)."""
        cur = self._ready().execute(
            "SELECT t.key, count(r.id) FROM tenant t LEFT JOIN restore_point r ON r.tenant_id = t.id"
            " AND r.state = 'committed' GROUP BY t.key")
        return {str(key): count for key, count in cur}
