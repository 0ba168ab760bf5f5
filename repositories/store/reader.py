"""As-of reads: the tenant as of committed restore point R is every version with
valid_from <= R < coalesce(valid_to, infinity) and deleted IS NULL (tombstones only with include_deleted).

Every function takes a connection and an already resolved (tenant_id, committed R); staged rows of a running
session have valid_from > R and are never seen.
"""

# ruff: noqa: S608 - SQL here is composed only of constant fragments; values always go as parameters.

from collections.abc import Iterator

import orjson
import psycopg

from repositories.store.canonical import changed_properties
from repositories.store.compress import decompress
from repositories.store.rows import ObjectRow, RelationRow, VersionRow

AS_OF = "v.tenant_id = %(t)s AND v.valid_from <= %(r)s AND (v.valid_to IS NULL OR v.valid_to > %(r)s)"
OBJECT_COLUMNS = ("v.object_type, v.object_id, v.display_name, v.upn, v.mail, v.app_id, v.data::text, v.deleted,"
                  " v.valid_from, v.valid_to, v.data_z")
RELATION_COLUMNS = "v.kind, v.source_id, v.target_id, v.target_type, v.valid_from, v.valid_to"


def load_data(text: str | None, stored: bytes | None) -> dict | None:
    """A version's data: plain jsonb for current versions, compressed for superseded ones, None for tombstones."""
    if text is not None:
        return orjson.loads(text)
    return orjson.loads(decompress(stored)) if stored is not None else None


def _object_row(row: tuple) -> ObjectRow:
    values = list(row)
    stored = values.pop()
    values[6] = load_data(values[6], stored)
    return ObjectRow(*values)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


DELETED_ONLY = "only"  # include_deleted value of a listing of tombstones alone


def _filters(object_type: str | None, search: str | None, include_deleted: bool | str) -> tuple[str, dict]:
    """SQL conditions beyond AS_OF, and their parameters."""
    where, params = [AS_OF], {}
    if include_deleted == DELETED_ONLY:
        where.append("v.deleted IS NOT NULL")
    elif not include_deleted:
        where.append("v.deleted IS NULL")
    if object_type:
        where.append("v.object_type = %(type)s")
        params["type"] = object_type
    if search and search.strip():
        where.append("(lower(v.display_name) LIKE %(like)s OR lower(v.upn) LIKE %(like)s"
                     " OR lower(v.mail) LIKE %(like)s OR v.app_id = %(exact)s OR v.object_id = %(exact)s)")
        params.update(like=_like(search.strip()), exact=search.strip())
    return " AND ".join(where), params


def objects(conn: psycopg.Connection, tenant_id: int, r: int, *, object_type=None, search=None,
            include_deleted=False, limit=100, offset=0) -> list[ObjectRow]:
    where, params = _filters(object_type, search, include_deleted)
    cur = conn.execute(
        f"SELECT {OBJECT_COLUMNS} FROM object_version v WHERE {where}"
        ' ORDER BY v.object_type, lower(v.display_name) COLLATE "C", v.object_id LIMIT %(limit)s OFFSET %(offset)s',
        {**params, "t": tenant_id, "r": r, "limit": limit, "offset": offset})
    return [_object_row(row) for row in cur]


def count_objects(conn, tenant_id: int, r: int, object_type=None, search=None, include_deleted=False) -> int:
    where, params = _filters(object_type, search, include_deleted)
    return conn.execute(f"SELECT count(*) FROM object_version v WHERE {where}",
                        {**params, "t": tenant_id, "r": r}).fetchone()[0]


def type_counts(conn, tenant_id: int, r: int) -> dict[str, int]:
    cur = conn.execute(f"SELECT v.object_type, count(*) FROM object_version v WHERE {AS_OF} AND v.deleted IS NULL"
                       " GROUP BY v.object_type ORDER BY v.object_type", {"t": tenant_id, "r": r})
    return dict(cur.fetchall())


def get_object(conn, tenant_id: int, r: int, object_type: str, object_id: str) -> ObjectRow | None:
    """The version seen at R; for a tombstone, its data is the last state before the deletion."""
    params = {"t": tenant_id, "r": r, "type": object_type, "id": object_id}
    row = conn.execute(f"SELECT {OBJECT_COLUMNS} FROM object_version v WHERE {AS_OF}"
                       " AND v.object_type = %(type)s AND v.object_id = %(id)s", params).fetchone()
    if row is None:
        return None
    found = _object_row(row)
    if found.deleted is None:
        return found
    last = conn.execute(
        "SELECT data::text, data_z FROM object_version WHERE tenant_id = %(t)s AND object_type = %(type)s"
        " AND object_id = %(id)s AND valid_from < %(from)s AND deleted IS NULL ORDER BY valid_from DESC LIMIT 1",
        {**params, "from": found.valid_from}).fetchone()
    return ObjectRow(**{**found.__dict__, "data": load_data(*last) if last else None})


def iter_objects(conn: psycopg.Connection, tenant_id: int, r: int, object_type: str) -> Iterator[dict]:
    """Stream the data of every live object of a type with a server-side cursor (caller owns `conn`)."""
    with conn.transaction(), conn.cursor(name="iter_objects") as cur:
        cur.itersize = 2000
        cur.execute(f"SELECT v.data::text, v.data_z FROM object_version v WHERE {AS_OF} AND v.deleted IS NULL"
                    " AND v.object_type = %(type)s ORDER BY v.object_id", {"t": tenant_id, "r": r, "type": object_type})
        for text, stored in cur:
            yield load_data(text, stored)


def relations(conn, tenant_id: int, r: int, *, kind=None, source_id=None, target_id=None) -> list[RelationRow]:
    where, params = [AS_OF], {"t": tenant_id, "r": r}
    for name, value in (("kind", kind), ("source_id", source_id), ("target_id", target_id)):
        if value is not None:
            where.append(f"v.{name} = %({name})s")
            params[name] = value
    cur = conn.execute(f"SELECT {RELATION_COLUMNS} FROM relation_version v WHERE {' AND '.join(where)}"
                       " ORDER BY v.kind, v.source_id, v.target_id", params)
    return [RelationRow(*row) for row in cur]


def iter_relations(conn: psycopg.Connection, tenant_id: int, r: int, kind: str) -> Iterator[RelationRow]:
    with conn.transaction(), conn.cursor(name="iter_relations") as cur:
        cur.itersize = 10000
        cur.execute(f"SELECT {RELATION_COLUMNS} FROM relation_version v WHERE {AS_OF} AND v.kind = %(kind)s"
                    " ORDER BY v.source_id, v.target_id", {"t": tenant_id, "r": r, "kind": kind})
        for row in cur:
            yield RelationRow(*row)


def object_history(conn, tenant_id: int, last_committed: int, object_type: str, object_id: str) -> list[VersionRow]:
    """Every kept version up to the last committed restore point, oldest first."""
    cur = conn.execute(
        "SELECT valid_from, valid_to, deleted, data::text, data_z FROM object_version WHERE tenant_id = %s"
        " AND object_type = %s AND object_id = %s AND valid_from <= %s ORDER BY valid_from",
        [tenant_id, object_type, object_id, last_committed])
    history, previous = [], None
    for valid_from, valid_to, deleted, text, stored in cur:
        data = load_data(text, stored)
        history.append(VersionRow(valid_from, valid_to, deleted, changed_properties(previous, data, object_type), data))
        previous = data if data is not None else previous
    return history


def computed_changes(conn, tenant_id: int, r: int) -> dict[str, dict[str, int]]:
    """new / changed / deleted per type, from the versions restore point R wrote."""
    cur = conn.execute(
        "SELECT v.object_type, count(*) FILTER (WHERE v.deleted IS NOT NULL),"
        " count(*) FILTER (WHERE v.deleted IS NULL AND p.object_id IS NULL),"
        " count(*) FILTER (WHERE v.deleted IS NULL AND p.object_id IS NOT NULL)"
        " FROM object_version v LEFT JOIN object_version p ON p.tenant_id = v.tenant_id"
        " AND p.object_type = v.object_type AND p.object_id = v.object_id AND p.valid_to = v.valid_from"
        " WHERE v.tenant_id = %s AND v.valid_from = %s GROUP BY v.object_type", [tenant_id, r])
    return {t: {"deleted": d, "new": n, "changed": c} for t, d, n, c in cur}
