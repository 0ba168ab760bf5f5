"""Route a Graph request (segments after /v1.0 or /beta) to its handler."""

from __future__ import annotations

import re
import uuid

from graph_emulator import audit, delta, permissions, signins
from graph_emulator.common import GraphError, Response, bad_request, json_response, not_found
from graph_emulator.graphapi import deleted, listing, navigation, policies, writes
from graph_emulator.graphapi import expand as expand_mod
from graph_emulator.graphapi.context import Ctx
from graph_emulator.kinds import KINDS

ALT_KEY = re.compile(r"^(applications|servicePrincipals)\(appId='([^']+)'\)$")
# Entity sets at the root, each as documented on Microsoft Learn (e.g. GET /contacts,
# https://learn.microsoft.com/graph/api/orgcontact-list). Administrative units are listed under /directory
# (https://learn.microsoft.com/graph/api/directory-list-administrativeunits); only their delta is documented
# at the root (GET /administrativeUnits/delta, https://learn.microsoft.com/graph/api/administrativeunit-delta).
TOP_KINDS = {"users": "users", "groups": "groups", "applications": "applications",
             "servicePrincipals": "servicePrincipals", "devices": "devices", "domains": "domains",
             "organization": "organization", "directoryRoles": "directoryRoles", "contacts": "orgContacts",
             "oauth2PermissionGrants": "oauth2PermissionGrants"}
DELTA_NAMES = {"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()", "graph.delta", "graph.delta()"}


def dispatch(ctx: Ctx) -> Response:
    seg = ctx.segments
    if not seg:
        raise bad_request("Invalid request.", "BadRequest")
    m = ALT_KEY.match(seg[0])
    if m:
        return _alt_key(ctx, m.group(1), m.group(2), seg[1:])
    head = seg[0]
    if head in TOP_KINDS:
        return entity(ctx, TOP_KINDS[head], seg[1:])
    handler = SPECIAL.get(head)
    if handler is None:
        raise segment_not_found(head)
    return handler(ctx, seg[1:])


def _alt_key(ctx: Ctx, kind: str, app_id: str, rest: list[str]) -> Response:
    """/applications(appId='...') alternate key (https://learn.microsoft.com/graph/api/application-get)."""
    for obj in ctx.tenant.objs[kind].values():
        if obj.get("appId") == app_id:
            return entity(ctx, kind, [obj["id"], *rest])
    raise not_found(app_id)


def lookup(ctx: Ctx, kind: str, key: str) -> dict:
    table = ctx.tenant.objs[kind]
    obj = table.get(key)
    if obj is None and kind == "users" and "@" in key:  # users/{userPrincipalName}
        low = key.lower()
        obj = next((u for u in table.values() if u.get("userPrincipalName", "").lower() == low), None)
    if obj is None:
        raise not_found(key)
    return obj


def entity(ctx: Ctx, kind: str, rest: list[str]) -> Response:
    """Collection / single entity / navigation for a stored kind."""
    area = permissions.KIND_AREA[kind]
    tenant = ctx.tenant
    if rest and rest[0] in DELTA_NAMES and not KINDS[kind].delta:
        raise segment_not_found(rest[0])
    if not rest or rest[0] in ("$count",) or rest[0] in DELTA_NAMES:
        if ctx.method == "POST" and not rest:
            ctx.require(area, "write")
            return writes.create(ctx, kind)
        ctx.require(area, "read")
        if ctx.method != "GET":
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        if rest and rest[0] == "$count":
            return listing.count_segment(ctx, tenant.objs[kind].values())
        if rest:
            return delta.handle(ctx, [kind])
        return list_kind(ctx, kind)
    obj = lookup(ctx, kind, rest[0])
    if len(rest) == 1:
        if ctx.method == "GET":
            ctx.require(area, "read")
            return listing.get_one(ctx, kind, obj, KINDS[kind].entity_set)
        ctx.require(area, "write")
        return writes.modify(ctx, kind, obj)
    return navigation.handle(ctx, kind, obj, rest[1:])


def list_kind(ctx: Ctx, kind: str) -> Response:
    tenant = ctx.tenant
    table = tenant.objs[kind]
    exp = expand_mod.apply if ctx.query.get("$expand") else None
    if exp:
        expand_mod.parse(ctx, kind)
    paging = kind not in ("directoryRoles",)  # directoryRoles: no paging (https://learn.microsoft.com/graph/api/directoryrole-list)
    return listing.list_ids(ctx, lambda o: kind, tenant.sorted_ids(kind), table.get, KINDS[kind].entity_set,
                            expand=exp, paging=paging, check_kind=kind)


def segment_not_found(segment: str) -> GraphError:
    """What Graph answers for a path segment it does not serve."""
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _administrative_units(ctx: Ctx, rest: list[str]) -> Response:
    """GET /administrativeUnits/delta is documented at the root; everything else lives under /directory."""
    if len(rest) == 1 and rest[0] in DELTA_NAMES:
        return entity(ctx, "administrativeUnits", rest)
    raise segment_not_found("administrativeUnits")


def _directory(ctx: Ctx, rest: list[str]) -> Response:
    if rest and rest[0] == "administrativeUnits":
        return entity(ctx, "administrativeUnits", rest[1:])
    if rest and rest[0] == "deletedItems":
        return deleted.handle(ctx, rest[1:])
    raise GraphError(400, "BadRequest", "Resource not found for the segment 'directory'.")


def _role_management(ctx: Ctx, rest: list[str]) -> Response:
    if len(rest) >= 2 and rest[0] == "directory" and rest[1] in ("roleAssignments", "roleDefinitions"):
        return entity(ctx, rest[1], rest[2:])
    raise GraphError(400, "BadRequest", "Resource not found for the segment 'roleManagement'.")


def _identity(ctx: Ctx, rest: list[str]) -> Response:
    if rest and rest[0] == "conditionalAccess":
        return policies.conditional_access(ctx, rest[1:])
    raise GraphError(400, "BadRequest", "Resource not found for the segment 'identity'.")


def _policies(ctx: Ctx, rest: list[str]) -> Response:
    if rest and rest[0] == "authenticationMethodsPolicy":
        return policies.auth_methods(ctx, rest[1:])
    raise GraphError(400, "BadRequest", "Resource not found for the segment 'policies'.")


EXTENSION_ACTIONS = {"getAvailableExtensionProperties", "microsoft.graph.getAvailableExtensionProperties"}


def _extension_properties(ctx: Ctx) -> Response:
    """POST /directoryObjects/getAvailableExtensionProperties: the directory extension properties registered
    in the tenant (https://learn.microsoft.com/graph/api/directoryobject-getavailableextensionproperties).
    The generator registers one (users' cost centre, from an HR app that is not otherwise modelled)."""
    if ctx.method != "POST":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    synced = ctx.json().get("isSyncedFromOnPremises")
    name = ctx.tenant.meta["extension_prop"]
    prop = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "deletedDateTime": None, "appDisplayName": "HR Sync",
            "dataType": "String", "isMultiValued": False, "isSyncedFromOnPremises": False, "name": name,
            "targetObjects": ["User"]}
    value = [] if synced is True else [prop]
    return json_response(200, {"@odata.context": ctx.context_url("directoryObjects/microsoft.graph.extensionProperty"),
                               "value": value})


def _directory_objects(ctx: Ctx, rest: list[str]) -> Response:
    if rest and rest[0] in EXTENSION_ACTIONS:
        ctx.require("directoryObjects", "read")
        return _extension_properties(ctx)
    if rest and rest[0] in DELTA_NAMES:
        ctx.require("directoryObjects", "read")
        return delta.handle(ctx, ["users", "groups"], mixed=True)
    if rest and len(rest) == 1:
        ctx.require("directoryObjects", "read")
        hit = ctx.tenant.find(rest[0])
        if not hit:
            raise not_found(rest[0])
        return listing.get_one(ctx, hit[0], hit[1], "directoryObjects", typed=True)
    raise GraphError(400, "BadRequest", "Resource not found for the segment 'directoryObjects'.")


def _audit(ctx: Ctx, rest: list[str]) -> Response:
    """/auditLogs: directory audits and sign-ins (dispatched here so that audit and signins need not import each other)."""
    if ctx.method != "GET" or not rest:
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    if rest[0] == "directoryAudits":
        ctx.require("directoryAudits")
        return audit.directory_audits(ctx, rest[1:])
    if rest[0] == "signIns":
        ctx.require("signIns")
        return signins.handle(ctx, rest[1:])
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")


def _batch(ctx: Ctx, rest: list[str]) -> Response:
    raise bad_request("Nested $batch requests are not supported.", "BadRequest")


SPECIAL = {"directory": _directory, "administrativeUnits": _administrative_units, "roleManagement": _role_management,
           "identity": _identity, "policies": _policies, "directoryObjects": _directory_objects, "auditLogs": _audit,
           "$batch": _batch}
