"""Directory role writes. A tenant-wide assignment exists twice in Graph: as a member of the activated
directoryRole (https://learn.microsoft.com/graph/api/directoryrole-post-members) and as a
unifiedRoleAssignment at directoryScopeId "/" (https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments).
Writing either keeps the other in step, so a restore may use whichever API it likes and a backup reading
both sees one assignment. Assigning a built-in role that is not activated yet activates it."""

from __future__ import annotations

import random
import uuid

from graph_emulator import audit
from graph_emulator.common import GraphError, Response, bad_request, json_response, not_found
from graph_emulator.generator.common import guid
from graph_emulator.generator.roles import role_assignment_id
from graph_emulator.graphapi.context import Ctx

NO_CONTENT = Response(204, b"", {}, None)
PRINCIPAL_TYPES = {"users": "User", "groups": "Group", "servicePrincipals": "ServicePrincipal"}


def _rng() -> random.Random:
    return random.Random(uuid.uuid4().int)


def role_for_template(tenant, template: str, activate: bool) -> dict | None:
    """The activated directoryRole of a role template; activated on demand like Entra does on first assignment."""
    role = next((r for r in tenant.objs["directoryRoles"].values() if r["roleTemplateId"] == template), None)
    if role is None and activate:
        definition = tenant.objs["roleDefinitions"].get(template)
        if definition is None or not definition.get("isBuiltIn"):
            return None
        role = {"id": guid(_rng()), "description": definition.get("description"),
                "displayName": definition["displayName"], "roleTemplateId": template}
        tenant.apply(["put", "directoryRoles", role])
    return role


def _principal(tenant, principal_id: str) -> tuple[str, dict]:
    hit = tenant.find(principal_id)
    if hit is None or hit[0] not in PRINCIPAL_TYPES:
        raise not_found(principal_id)
    if hit[0] == "groups" and not hit[1].get("isAssignableToRole"):
        raise bad_request("Only groups with isAssignableToRole set to true can be assigned to a directory role.")
    return hit


def _tenant_wide(tenant, template: str, principal_id: str) -> dict | None:
    return next((a for a in tenant.objs["roleAssignments"].values() if a["roleDefinitionId"] == template
                 and a["principalId"] == principal_id and a["directoryScopeId"] == "/"), None)


def _record(ctx: Ctx, verb: str, principal: tuple[str, dict], role: dict) -> None:
    kind, obj = principal
    props = audit.container_props("directoryRoles", role, added=verb == "Add")
    prep = "to" if verb == "Add" else "from"
    audit.record(ctx.tenant, f"{verb} member {prep} role", "RoleManagement", "Assign" if verb == "Add" else "Unassign",
                 audit.app_initiator(ctx.tenant, ctx.claims),
                 [audit.target(obj, PRINCIPAL_TYPES[kind], props), audit.target(role, "Role")])


def create_assignment(ctx: Ctx) -> Response:
    """POST /roleManagement/directory/roleAssignments -> 201 + the unifiedRoleAssignment."""
    tenant = ctx.tenant
    data = ctx.json()
    for key in ("principalId", "roleDefinitionId"):
        if not data.get(key):
            raise bad_request(f"Invalid value specified for property '{key}' of resource 'UnifiedRoleAssignment'.")
    scope = data.get("directoryScopeId")
    if not scope and not data.get("appScopeId"):
        raise bad_request("Either directoryScopeId or appScopeId must be specified.")
    unknown = set(data) - {"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "condition", "@odata.type"}
    if unknown:
        raise bad_request(f"Invalid property '{sorted(unknown)[0]}'.", "BadRequest")
    principal = _principal(tenant, data["principalId"])
    definition = tenant.objs["roleDefinitions"].get(data["roleDefinitionId"])
    if definition is None:
        raise not_found(data["roleDefinitionId"])
    if scope and scope != "/":
        au_id = scope.removeprefix("/administrativeUnits/")
        if au_id == scope or au_id not in tenant.objs["administrativeUnits"]:
            raise bad_request(f"Invalid value specified for property 'directoryScopeId': '{scope}'.")
    if any(a["principalId"] == data["principalId"] and a["roleDefinitionId"] == data["roleDefinitionId"]
           and a["directoryScopeId"] == scope for a in tenant.objs["roleAssignments"].values()):
        raise GraphError(409, "Request_BadRequest", "A conflicting object with one or more of the specified property "
                         "values is present in the directory.")
    ra = {"id": role_assignment_id(_rng()), "principalId": data["principalId"],
          "roleDefinitionId": data["roleDefinitionId"], "directoryScopeId": scope,
          "appScopeId": data.get("appScopeId"), "condition": data.get("condition")}
    tenant.apply(["put", "roleAssignments", ra])
    role = role_for_template(tenant, ra["roleDefinitionId"], activate=scope == "/")
    if role is not None and scope == "/":
        tenant.apply(["link", "role_members", role["id"], ra["principalId"]])
    _record(ctx, "Add", principal, role or {"id": definition["id"], "displayName": definition["displayName"],
                                            "roleTemplateId": definition["id"]})
    body = {"@odata.context": ctx.context_url("roleManagement/directory/roleAssignments", entity=True), **ra}
    return json_response(201, body)


def delete_assignment(ctx: Ctx, ra: dict) -> Response:
    """DELETE /roleManagement/directory/roleAssignments/{id} -> 204."""
    tenant = ctx.tenant
    role = role_for_template(tenant, ra["roleDefinitionId"], activate=False)
    if role is not None and ra["directoryScopeId"] == "/":
        tenant.apply(["unlink", "role_members", role["id"], ra["principalId"]])
    tenant.apply(["hard", "roleAssignments", ra["id"]])
    hit = tenant.find(ra["principalId"]) or ("users", {"id": ra["principalId"]})
    definition = tenant.objs["roleDefinitions"].get(ra["roleDefinitionId"], {})
    _record(ctx, "Remove", hit, role or {"id": ra["roleDefinitionId"], "displayName": definition.get("displayName"),
                                         "roleTemplateId": ra["roleDefinitionId"]})
    return NO_CONTENT


def member_ref(ctx: Ctx, role: dict, rest: list[str]) -> Response:
    """POST /directoryRoles/{id}/members/$ref and DELETE /directoryRoles/{id}/members/{id}/$ref."""
    tenant = ctx.tenant
    members = tenant.rel["role_members"].get(role["id"], {})
    if ctx.method == "POST" and rest == ["$ref"]:
        oid = str(ctx.json().get("@odata.id", "")).rstrip("/").split("/")[-1]
        principal = _principal(tenant, oid)
        if oid in members:
            raise bad_request("One or more added object references already exist for the following modified "
                              "properties: 'members'.")
        tenant.apply(["link", "role_members", role["id"], oid])
        if _tenant_wide(tenant, role["roleTemplateId"], oid) is None:
            tenant.apply(["put", "roleAssignments", {
                "id": role_assignment_id(_rng()), "principalId": oid, "roleDefinitionId": role["roleTemplateId"],
                "directoryScopeId": "/", "appScopeId": None, "condition": None}])
        _record(ctx, "Add", principal, role)
        return NO_CONTENT
    if ctx.method == "DELETE" and len(rest) == 2:
        oid = rest[0]
        if oid not in members:
            raise not_found(oid)
        tenant.apply(["unlink", "role_members", role["id"], oid])
        ra = _tenant_wide(tenant, role["roleTemplateId"], oid)
        if ra is not None:
            tenant.apply(["hard", "roleAssignments", ra["id"]])
        _record(ctx, "Remove", tenant.find(oid) or ("users", {"id": oid}), role)
        return NO_CONTENT
    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
