"""Conditional Access (policies, namedLocations, deletedItems + restore) and the authentication methods
policy singleton."""

from __future__ import annotations

from graph_emulator import views
from graph_emulator.common import GraphError, Response, json_response, not_found
from graph_emulator.graphapi import listing, writes
from graph_emulator.graphapi.context import Ctx

CA_SETS = {"policies": "conditionalAccessPolicies", "namedLocations": "namedLocations"}


def conditional_access(ctx: Ctx, rest: list[str]) -> Response:
    if not rest:
        raise GraphError(400, "BadRequest", "Resource not found for the segment 'conditionalAccess'.")
    if rest[0] == "deletedItems":
        return _deleted(ctx, rest[1:])
    kind = CA_SETS.get(rest[0])
    if kind is None:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
    entity_set = f"identity/conditionalAccess/{rest[0]}"
    table = ctx.tenant.objs[kind]
    if len(rest) == 1:
        if ctx.method == "POST":
            ctx.require("conditionalAccess", "write")
            return writes.create(ctx, kind)
        ctx.require("conditionalAccess")
        return listing.list_ids(ctx, lambda o: kind, sorted(table), table.get, entity_set, directory=False)
    obj = table.get(rest[1])
    if obj is None:
        raise not_found(rest[1])
    if ctx.method == "GET":
        ctx.require("conditionalAccess")
        return listing.get_one(ctx, kind, obj, entity_set)
    ctx.require("conditionalAccess", "write")
    return writes.modify(ctx, kind, obj)


def _deleted(ctx: Ctx, rest: list[str]) -> Response:
    """/identity/conditionalAccess/deletedItems/{policies|namedLocations}[/{id}[/restore]] (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
    if not rest or rest[0] not in CA_SETS:
        raise GraphError(400, "BadRequest", "Resource not found for the segment 'deletedItems'.")
    kind = CA_SETS[rest[0]]
    ctx.tenant.purge_expired()
    table = ctx.tenant.deleted[kind]
    entity_set = f"identity/conditionalAccess/deletedItems/{rest[0]}"
    if len(rest) == 1:
        ctx.require("conditionalAccess")
        return listing.list_ids(ctx, lambda o: kind, sorted(table), table.get, entity_set, directory=False)
    obj = table.get(rest[1])
    if obj is None:
        raise not_found(rest[1])
    if len(rest) == 3 and rest[2] == "restore" and ctx.method == "POST":
        ctx.require("conditionalAccess", "write")
        return writes.restore(ctx, kind, obj)
    if ctx.method == "DELETE":
        ctx.require("conditionalAccess", "write")
        ctx.tenant.apply(["hard", kind, obj["id"]])
        return Response(204, b"", {}, None)
    ctx.require("conditionalAccess")
    return listing.get_one(ctx, kind, obj, entity_set)


def auth_methods(ctx: Ctx, rest: list[str]) -> Response:
    """Singleton GET (no query options per the 2022 docs) and PATCH."""
    policy = ctx.tenant.auth_policy
    if ctx.method == "PATCH" and not rest:
        ctx.require("authMethodsPolicy", "write")
        return writes.patch_auth_policy(ctx)
    ctx.require("authMethodsPolicy")
    if rest:
        configs = {c["id"].lower(): c for c in policy["authenticationMethodConfigurations"]}
        if rest[0] == "authenticationMethodConfigurations" and len(rest) == 2 and rest[1].lower() in configs:
            body = {"@odata.context": ctx.context_url("policies/authenticationMethodsPolicy/"
                                                      "authenticationMethodConfigurations", entity=True)}
            return json_response(200, {**body, **configs[rest[1].lower()]})
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")
    return json_response(200, {"@odata.context": ctx.context_url("policies/authenticationMethodsPolicy"), **policy})


__all__ = ["conditional_access", "auth_methods", "views"]
