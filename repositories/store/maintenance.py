"""Tenant lock, cleanup of dead sessions, retention (prune), purge and sizes."""

# ruff: noqa: S608 - SQL here is composed only of constant fragments; values always go as parameters.

import logging
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import errors as pgerrors

logger = logging.getLogger(__name__)

TENANT_LOCK = 0x45425250  # advisory lock class (first int4); the second int4 is the tenant id
TABLES = ("object_version", "relation_version", "restore_point", "sync_state", "tenant", "schema_migrations")


def lock_tenant(conn: psycopg.Connection, tenant_id: int, timeout: float) -> bool:
    """Take the tenant's session-level advisory lock, waiting up to `timeout` seconds; False if busy.

    Session-level: it outlives the transactions of the session and is released when the connection closes,
    including when the writing process is killed.
    """
    if timeout <= 0:
        return conn.execute("SELECT pg_try_advisory_lock(%s, %s)", [TENANT_LOCK, tenant_id]).fetchone()[0]
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(timeout * 1000)}ms"])
            conn.execute("SELECT pg_advisory_lock(%s, %s)", [TENANT_LOCK, tenant_id])
        return True
    except pgerrors.LockNotAvailable:
        return False


def delete_staging(conn: psycopg.Connection, tenant_id: int, only: int | None = None) -> int:
    """Delete 'staging' restore points of the tenant (or just `only`) and the rows they wrote (lock held)."""
    with conn.transaction():
        ids = [r for (r,) in conn.execute(
            "SELECT id FROM restore_point WHERE tenant_id = %s AND state = 'staging' AND (%s::bigint IS NULL OR id = %s)",
            [tenant_id, only, only])]
        for r in ids:
            objects = conn.execute("DELETE FROM object_version WHERE tenant_id = %s AND valid_from = %s",
                                   [tenant_id, r]).rowcount
            relations = conn.execute("DELETE FROM relation_version WHERE tenant_id = %s AND valid_from = %s",
                                     [tenant_id, r]).rowcount
            conn.execute("DELETE FROM restore_point WHERE id = %s", [r])
            logger.info("Removed staging restore point %s of tenant %s (%s object rows, %s relation rows)",
                        r, tenant_id, objects, relations)
    return len(ids)


def expired_restore_points(conn, tenant_id: int, keep_restore_points: int | None, keep_days: int | None,
                           now: datetime | None) -> list[int]:
    """Committed restore points outside every given policy; the newest is always kept.

    With both policies a restore point is kept when either keeps it ("at least N points and at least D days").
    """
    points = conn.execute("SELECT id, committed_at FROM restore_point WHERE tenant_id = %s AND state = 'committed'"
                          " ORDER BY id DESC", [tenant_id]).fetchall()
    if keep_restore_points is None and keep_days is None:
        return []
    now = now or conn.execute("SELECT now()").fetchone()[0]
    if now.tzinfo is None:  # committed_at is timestamptz; a naive `now` is taken as UTC
        now = now.replace(tzinfo=UTC)
    expired = []
    for index, (r, committed_at) in enumerate(points):
        by_count = keep_restore_points is not None and index < keep_restore_points
        by_days = keep_days is not None and committed_at >= now - timedelta(days=keep_days)
        if index > 0 and not by_count and not by_days:
            expired.append(r)
    return expired


_SEEN = ("EXISTS (SELECT 1 FROM restore_point p WHERE p.tenant_id = %(t)s AND p.state = 'committed'"
         " AND p.id >= {v}.valid_from AND ({v}.valid_to IS NULL OR p.id < {v}.valid_to))")


def prune(conn: psycopg.Connection, tenant_id: int, expired: list[int]) -> dict[str, int]:
    """Delete the expired restore points and every version no remaining restore point needs (lock held).

    Kept: versions some remaining restore point sees, and the last data version before a kept tombstone
    (get_object returns it for a deleted object). Tombstones of deletions older than the oldest remaining
    restore point go, with the data they guarded: retention must really forget deleted objects.
    """
    counts = {"restore_points": 0, "object_versions": 0, "relation_versions": 0}
    if not expired:
        return counts
    params = {"t": tenant_id, "expired": expired}
    with conn.transaction():
        counts["restore_points"] = conn.execute(
            "DELETE FROM restore_point WHERE tenant_id = %(t)s AND id = ANY(%(expired)s)", params).rowcount
        oldest = conn.execute("SELECT min(id) FROM restore_point WHERE tenant_id = %s AND state = 'committed'",
                              [tenant_id]).fetchone()[0]
        old_tombs = conn.execute("DELETE FROM object_version WHERE tenant_id = %(t)s AND deleted IS NOT NULL"
                                 " AND valid_from < %(oldest)s", {**params, "oldest": oldest}).rowcount
        closed = conn.execute(
            "DELETE FROM object_version v WHERE v.tenant_id = %(t)s AND v.valid_to IS NOT NULL"
            f" AND NOT {_SEEN.format(v='v')} AND NOT EXISTS (SELECT 1 FROM object_version d"
            " WHERE d.tenant_id = %(t)s AND d.object_type = v.object_type AND d.object_id = v.object_id"
            f" AND d.valid_from = v.valid_to AND d.deleted IS NOT NULL AND {_SEEN.format(v='d')})", params).rowcount
        counts["object_versions"] = old_tombs + closed
        counts["relation_versions"] = conn.execute(
            "DELETE FROM relation_version v WHERE v.tenant_id = %(t)s AND v.valid_to IS NOT NULL"
            f" AND NOT {_SEEN.format(v='v')}", params).rowcount
    logger.info("Pruned tenant %s: %s", tenant_id, counts)
    return counts


def purge(conn: psycopg.Connection, tenant_id: int) -> dict[str, int]:
    """Delete every row of the tenant, in one transaction (lock held)."""
    counts = {}
    with conn.transaction():
        for table in ("object_version", "relation_version", "sync_state", "restore_point"):
            counts[table] = conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id]).rowcount
        counts["tenant"] = conn.execute("DELETE FROM tenant WHERE id = %s", [tenant_id]).rowcount
    return counts


def size_bytes(conn: psycopg.Connection) -> int:
    """Tables, indexes and TOAST of the repository."""
    return conn.execute("SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint"
                        " FROM unnest(%s::text[]) AS t", [list(TABLES)]).fetchone()[0]


def tenant_size_bytes(conn: psycopg.Connection, tenant_id: int) -> int:
    """An estimate: each version table's size, shared in proportion to the tenant's rows."""
    total = 0
    for table in ("object_version", "relation_version"):
        size, rows = conn.execute(
            f"SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})").fetchone()
        mine = conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id]).fetchone()[0]
        total += size * mine // rows if rows else 0
    return total
