"""/directory/deletedItems: list needs the type cast; GET/DELETE by id; POST {id}/restore (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""

from __future__ import annotations

from graph_emulator import permissions
from graph_emulator.common import GraphError, Response, not_found
from graph_emulator.graphapi import listing, writes
from graph_emulator.graphapi.context import Ctx
from graph_emulator.kinds import DELETED_CASTS, KINDS, cast_type


def _find(tenant, oid: str):
    for kind in DELETED_CASTS.values():
        obj = tenant.deleted[kind].get(oid)
        if obj is not None:
            return kind, obj
    return None


def handle(ctx: Ctx, rest: list[str]) -> Response:
    tenant = ctx.tenant
    tenant.purge_expired()
    if not rest:
        raise GraphError(400, "Request_BadRequest", "Request is not supported. A type cast segment is required, e.g. "
                         "/directory/deletedItems/microsoft.graph.user.")
    if cast_type(rest[0]):
        kind = DELETED_CASTS.get(cast_type(rest[0]))
        if kind is None:
            raise GraphError(400, "Request_BadRequest", f"Type '{rest[0]}' is not supported for deleted items.")
        ctx.require(permissions.KIND_AREA[kind])
        table = tenant.deleted[kind]
        if len(rest) > 1 and rest[1] == "$count":
            return listing.count_segment(ctx, table.values())
        return listing.list_ids(ctx, lambda o: kind, sorted(table), table.get, f"directory/deletedItems/{rest[0]}",
                                typed=True, check_kind=kind)
    hit = _find(tenant, rest[0])
    if hit is None:
        raise not_found(rest[0])
    kind, obj = hit
    if len(rest) == 2 and rest[1] == "restore" and ctx.method == "POST":
        ctx.require(permissions.KIND_AREA[kind], "write")
        return writes.restore(ctx, kind, obj)
    if ctx.method == "DELETE" and len(rest) == 1:
        ctx.require(permissions.KIND_AREA[kind], "write")
        return writes.purge(ctx, kind, obj)
    ctx.require(permissions.KIND_AREA[kind])
    return listing.get_one(ctx, kind, obj, "directoryObjects", typed=True)


__all__ = ["handle", "KINDS"]
