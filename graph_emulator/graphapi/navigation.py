"""Navigation properties: members/owners/transitiveMembers (+ casts, $count, $ref), manager, memberOf,
appRoleAssignments / appRoleAssignedTo."""

from __future__ import annotations

from graph_emulator.common import GraphError, Response, bad_request, not_found
from graph_emulator.graphapi import credentials, listing, writes
from graph_emulator.graphapi.context import Ctx
from graph_emulator.kinds import KINDS, cast_type, kind_of_type

REL = {("groups", "members"): "group_members", ("groups", "owners"): "group_owners",
       ("administrativeUnits", "members"): "au_members", ("directoryRoles", "members"): "role_members",
       ("applications", "owners"): "app_owners", ("servicePrincipals", "owners"): "sp_owners"}
AREA = {"groups": "group_members", "administrativeUnits": "administrativeUnits", "directoryRoles": "roles",
        "users": "users", "servicePrincipals": "applications", "applications": "applications"}


def handle(ctx: Ctx, kind: str, obj: dict, rest: list[str]) -> Response:
    nav = rest[0]
    action = credentials.action_name(nav) if kind in ("applications", "servicePrincipals") else None
    if action and len(rest) == 1:
        ctx.require("applications", "write")
        return credentials.handle(ctx, kind, obj, action)
    if (kind, nav) in REL or (kind == "groups" and nav == "transitiveMembers"):
        return _relationship(ctx, kind, obj, nav, rest[1:])
    if kind == "users" and nav == "manager":
        return _manager(ctx, obj, rest[1:])
    if kind == "users" and nav in ("memberOf", "directReports"):
        ctx.require("users", "read")
        ids = sorted(ctx.tenant.rev["group_members"].get(obj["id"], ())) if nav == "memberOf" else sorted(
            u for u, m in ctx.tenant.managers.items() if m == obj["id"])
        return _list_objects(ctx, ids, "directoryObjects")
    if nav in ("appRoleAssignments", "appRoleAssignedTo") and kind in ("users", "groups", "servicePrincipals"):
        if ctx.method == "POST" and not rest[1:]:
            ctx.require("appRoleAssignments", "write")
            return writes.create_app_role_assignment(ctx, kind, obj, nav)
        if ctx.method == "DELETE" and len(rest) == 2:
            ctx.require("appRoleAssignments", "write")
            return writes.delete_app_role_assignment(ctx, obj, rest[1])
        ctx.require("appRoleAssignments", "read")
        return _assignments(ctx, obj, nav)
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{nav}'.")


def _get_active(tenant):
    def get(oid):
        hit = tenant.find(oid)
        return hit[1] if hit else None
    return get


def _list_objects(ctx: Ctx, ids: list[str], entity_set: str, cast: str | None = None, paging: bool = True):
    tenant = ctx.tenant
    if cast:
        ids = [i for i in ids if tenant.kind_of.get(i) == cast]
    return listing.list_ids(ctx, lambda o: tenant.kind_of[o["id"]], ids, _get_active(tenant), entity_set,
                            typed=True, paging=paging)


def _relationship(ctx: Ctx, kind: str, obj: dict, nav: str, rest: list[str]) -> Response:
    tenant = ctx.tenant
    area = AREA[kind]
    if rest and rest[-1] == "$ref" or (ctx.method == "POST" and rest == ["$ref"]):
        ctx.require(area, "write")
        return writes.ref_change(ctx, kind, obj, nav, rest)
    ctx.require(area, "read")
    if nav == "transitiveMembers":
        ids = sorted(transitive(tenant, obj["id"]))
    else:
        ids = sorted(tenant.members(REL[(kind, nav)], obj["id"]))
    cast = None
    if rest and cast_type(rest[0]):  # OData cast segment /members/microsoft.graph.user
        cast = kind_of_type(rest[0])
        if cast is None:
            raise bad_request(f"Type '{rest[0]}' is not supported.", "BadRequest")
        rest = rest[1:]
    if rest and rest[0] == "$count":
        return listing.count_segment(ctx, [tenant.find(i)[1] for i in ids
                                           if tenant.find(i) and (cast is None or tenant.kind_of[i] == cast)])
    if rest:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
    entity_set = KINDS[cast].entity_set if cast else "directoryObjects"
    return _list_objects(ctx, ids, entity_set, cast, paging=kind != "directoryRoles")


def transitive(tenant, gid: str) -> set[str]:
    """All members reached through nested groups (the group itself excluded)."""
    seen: set[str] = set()
    stack = [gid]
    while stack:
        for m in tenant.members("group_members", stack.pop()):
            if m not in seen:
                seen.add(m)
                if tenant.kind_of.get(m) == "groups":
                    stack.append(m)
    seen.discard(gid)
    return seen


def _manager(ctx: Ctx, obj: dict, rest: list[str]) -> Response:
    if rest == ["$ref"] and ctx.method in ("PUT", "DELETE"):
        ctx.require("users", "write")
        return writes.set_manager(ctx, obj, rest)
    ctx.require("users", "read")
    mid = ctx.tenant.managers.get(obj["id"])
    hit = ctx.tenant.find(mid) if mid else None
    if not hit:
        raise not_found("manager")
    return listing.get_one(ctx, hit[0], hit[1], "directoryObjects", typed=True)


def _assignments(ctx: Ctx, obj: dict, nav: str) -> Response:
    key = "resourceId" if nav == "appRoleAssignedTo" else "principalId"
    table = ctx.tenant.objs["appRoleAssignments"]
    ids = sorted(a for a, o in table.items() if o[key] == obj["id"])
    return listing.list_ids(ctx, lambda o: "appRoleAssignments", ids, table.get, "appRoleAssignments")
