"""Differences between two restore points, computed on the version tables (restore/compare.py builds the report).

Only rows a restore point between the two wrote can differ, so every query starts from the versions written
(or closed) in (lo, hi] and compares what each side saw: an unchanged tenant of any size costs nothing, and
the 100k-user tenant at 1 % churn reads about a thousand objects. Order does not matter: `f` may be newer
than `t` (then "created" and "deleted" swap, as a restore back to `t` needs).
"""

# ruff: noqa: S608 - SQL here is composed only of constant fragments; values always go as parameters.

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg

from repositories.store.reader import load_data


@dataclass(frozen=True)
class Side:
    """What one restore point saw of an object: `deleted` for a tombstone, `data` (None for a tombstone)."""

    deleted: str | None
    content_hash: bytes | None
    data: dict | None
    display_name: str | None


@dataclass(frozen=True)
class ObjectDiff:
    object_type: str
    object_id: str
    old: Side | None  # None: no version then
    new: Side | None


@dataclass(frozen=True)
class RelationDiff:
    kind: str
    source_id: str
    target_id: str
    target_type: str | None
    added: bool  # False: removed


def _scope(types: Iterable[str] | None, object_id: str | None, alias: str = "") -> tuple[str, dict]:
    where, params = "", {}
    if types is not None:
        where += f" AND {alias}object_type = ANY(%(types)s)"
        params["types"] = list(types)
    if object_id is not None:
        where += f" AND {alias}object_id = %(id)s"
        params["id"] = object_id
    return where, params


_SIDE = "{a}.deleted, {a}.content_hash, {a}.data::text, {a}.data_z, {a}.display_name, {a}.valid_from"
_AS_OF = ("LEFT JOIN object_version {a} ON {a}.tenant_id = %(tenant)s AND {a}.object_type = c.object_type"
          " AND {a}.object_id = c.object_id AND {a}.valid_from <= %({p})s AND ({a}.valid_to IS NULL OR {a}.valid_to > %({p})s)")


def changed_objects(conn: psycopg.Connection, tenant_id: int, f: int, t: int, *, types=None,
                    object_id: str | None = None) -> list[ObjectDiff]:
    """Objects whose version as of `f` differs from the one as of `t` (content hash or deletion state)."""
    lo, hi = min(f, t), max(f, t)
    where, params = _scope(types, object_id)
    cur = conn.execute(
        "WITH c AS (SELECT DISTINCT object_type, object_id FROM object_version WHERE tenant_id = %(tenant)s"
        f" AND valid_from > %(lo)s AND valid_from <= %(hi)s{where})"
        f" SELECT c.object_type, c.object_id, {_SIDE.format(a='a')}, {_SIDE.format(a='b')} FROM c"
        f" {_AS_OF.format(a='a', p='f')} {_AS_OF.format(a='b', p='t')}"
        " WHERE a.content_hash IS DISTINCT FROM b.content_hash OR a.deleted IS DISTINCT FROM b.deleted"
        " OR (a.valid_from IS NULL) <> (b.valid_from IS NULL)"
        " ORDER BY c.object_type, c.object_id",
        {**params, "tenant": tenant_id, "lo": lo, "hi": hi, "f": f, "t": t})
    diffs = [ObjectDiff(row[0], row[1], _side(row[2:8]), _side(row[8:14])) for row in cur]
    return _with_last_states(conn, tenant_id, diffs)


def _side(values: tuple) -> Side | None:
    deleted, digest, text, stored, name, valid_from = values
    if valid_from is None:
        return None
    return Side(deleted, bytes(digest) if digest is not None else None, load_data(text, stored), name)


def _with_last_states(conn, tenant_id: int, diffs: list[ObjectDiff]) -> list[ObjectDiff]:
    """A tombstone on one side carries no data: give it the object's last live state, so a deletion shows
    what was deleted."""
    wanted = [(d.object_type, d.object_id) for d in diffs
              for s in (d.old, d.new) if s is not None and s.deleted and s.data is None]
    if not wanted:
        return diffs
    last = last_live_data(conn, tenant_id, wanted)
    return [ObjectDiff(d.object_type, d.object_id, _filled(d.old, last.get(d.object_id)), _filled(d.new, last.get(d.object_id)))
            for d in diffs]


def _filled(side: Side | None, data: dict | None) -> Side | None:
    if side is None or not side.deleted or side.data is not None:
        return side
    return Side(side.deleted, None, data, side.display_name)


def last_live_data(conn, tenant_id: int, keys: list[tuple[str, str]], before: int | None = None) -> dict[str, dict]:
    """id -> the data of the newest live version (before restore point `before`, when given)."""
    cur = conn.execute(
        "SELECT DISTINCT ON (v.object_id) v.object_id, v.data::text, v.data_z FROM object_version v"
        " JOIN unnest(%(types)s::text[], %(ids)s::text[]) AS k(object_type, object_id)"
        " ON v.tenant_id = %(tenant)s AND v.object_type = k.object_type AND v.object_id = k.object_id"
        " WHERE v.deleted IS NULL AND (%(before)s::bigint IS NULL OR v.valid_from < %(before)s)"
        " ORDER BY v.object_id, v.valid_from DESC",
        {"tenant": tenant_id, "types": [k[0] for k in keys], "ids": [k[1] for k in keys], "before": before})
    return {oid: load_data(text, stored) for oid, text, stored in cur}


def changed_relations(conn: psycopg.Connection, tenant_id: int, f: int, t: int, *, kinds=None,
                      object_id: str | None = None) -> list[RelationDiff]:
    """Relationship pairs present as of one restore point and not the other (added: present at `t` only)."""
    lo, hi = min(f, t), max(f, t)
    where, params = "", {}
    if kinds is not None:
        where += " AND kind = ANY(%(kinds)s)"
        params["kinds"] = list(kinds)
    if object_id is not None:
        where += " AND (source_id = %(id)s OR target_id = %(id)s)"
        params["id"] = object_id
    cur = conn.execute(
        "SELECT kind, source_id, target_id, max(target_type),"
        " bool_or(valid_from <= %(f)s AND (valid_to IS NULL OR valid_to > %(f)s)) AS at_f,"
        " bool_or(valid_from <= %(t)s AND (valid_to IS NULL OR valid_to > %(t)s)) AS at_t"
        " FROM relation_version WHERE tenant_id = %(tenant)s"
        " AND ((valid_from > %(lo)s AND valid_from <= %(hi)s) OR (valid_to > %(lo)s AND valid_to <= %(hi)s))"
        f"{where} GROUP BY kind, source_id, target_id"
        " HAVING bool_or(valid_from <= %(f)s AND (valid_to IS NULL OR valid_to > %(f)s))"
        " <> bool_or(valid_from <= %(t)s AND (valid_to IS NULL OR valid_to > %(t)s))"
        " ORDER BY kind, source_id, target_id",
        {**params, "tenant": tenant_id, "lo": lo, "hi": hi, "f": f, "t": t})
    return [RelationDiff(kind, s, tg, tt, bool(at_t)) for kind, s, tg, tt, _at_f, at_t in cur]


def states(conn: psycopg.Connection, tenant_id: int, r: int, object_type: str) -> dict[str, tuple[bytes | None, str | None]]:
    """id -> (content hash, deletion state) of every object of a type as of `r`, tombstones included."""
    cur = conn.execute(
        "SELECT object_id, content_hash, deleted FROM object_version WHERE tenant_id = %s AND object_type = %s"
        " AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)", [tenant_id, object_type, r, r])
    return {oid: (bytes(digest) if digest is not None else None, deleted) for oid, digest, deleted in cur}


def sides(conn: psycopg.Connection, tenant_id: int, r: int, object_type: str, ids: list[str]) -> dict[str, Side]:
    """id -> what restore point `r` saw of each of these objects (tombstones carry their last live data)."""
    cur = conn.execute(
        f"SELECT object_id, {_SIDE.format(a='v')} FROM object_version v WHERE tenant_id = %s AND object_type = %s"
        " AND object_id = ANY(%s) AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
        [tenant_id, object_type, ids, r, r])
    found = {row[0]: _side(row[1:]) for row in cur}
    dead = [(object_type, oid) for oid, side in found.items() if side.deleted]
    last = last_live_data(conn, tenant_id, dead) if dead else {}
    return {oid: _filled(side, last.get(oid)) for oid, side in found.items()}


def relation_pairs(conn: psycopg.Connection, tenant_id: int, r: int, kind: str) -> Iterator[tuple[str, str, str | None]]:
    cur = conn.execute("SELECT source_id, target_id, target_type FROM relation_version WHERE tenant_id = %s"
                       " AND kind = %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
                       [tenant_id, kind, r, r])
    yield from cur


def names(conn: psycopg.Connection, tenant_id: int, ids: list[str], r: int | None = None) -> dict[str, tuple]:
    """id -> (object type, display name, userPrincipalName, appId, deletion state as of `r` or None) of the
    given ids, from their newest named version; ids the repository never saw are left out."""
    if not ids:
        return {}
    cur = conn.execute(
        "SELECT DISTINCT ON (object_id) object_id, object_type, display_name, upn, app_id FROM object_version"
        " WHERE tenant_id = %(tenant)s AND object_id = ANY(%(ids)s)"
        " ORDER BY object_id, (display_name IS NULL), valid_from DESC", {"tenant": tenant_id, "ids": ids})
    found = {oid: [otype, name, upn, app_id, None] for oid, otype, name, upn, app_id in cur}
    if r is not None and found:
        cur = conn.execute(
            "SELECT object_id, deleted FROM object_version WHERE tenant_id = %s AND object_id = ANY(%s)"
            " AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)", [tenant_id, list(found), r, r])
        at_r = dict(cur.fetchall())
        for oid, row in found.items():
            row[4] = at_r[oid] if oid in at_r else "missing"
    return {oid: tuple(row) for oid, row in found.items()}


def relation_history(conn: psycopg.Connection, tenant_id: int, object_id: str, upto: int) -> list[tuple]:
    """Every relationship version the object is part of (as source or target), up to restore point `upto`:
    (kind, source_id, target_id, target_type, valid_from, valid_to)."""
    cur = conn.execute(
        "SELECT kind, source_id, target_id, target_type, valid_from, valid_to FROM relation_version"
        " WHERE tenant_id = %(tenant)s AND (source_id = %(id)s OR target_id = %(id)s) AND valid_from <= %(upto)s"
        " ORDER BY valid_from, kind", {"tenant": tenant_id, "id": object_id, "upto": upto})
    return cur.fetchall()


def assignments_of(conn: psycopg.Connection, tenant_id: int, principal_id: str, upto: int) -> list[tuple]:
    """Versions of role and app role assignments whose principal is the object, up to restore point `upto`:
    (object_type, object_id, valid_from, valid_to, deleted, data). Closed versions are compressed, so
    those are matched after loading (assignments change rarely)."""
    cur = conn.execute(
        "SELECT object_type, object_id, valid_from, valid_to, deleted, data::text, data_z FROM object_version"
        " WHERE tenant_id = %(tenant)s AND object_type IN ('roleAssignment', 'appRoleAssignment')"
        " AND valid_from <= %(upto)s AND (data->>'principalId' = %(id)s OR data IS NULL)"
        " ORDER BY valid_from", {"tenant": tenant_id, "id": principal_id, "upto": upto})
    rows, mine = [], set()
    for otype, oid, valid_from, valid_to, deleted, text, stored in cur:
        data = load_data(text, stored)
        if data is not None and data.get("principalId") == principal_id:
            mine.add(oid)
        rows.append((otype, oid, valid_from, valid_to, deleted, data))
    return [row for row in rows if row[1] in mine]
