"""Delegated permission grants (https://learn.microsoft.com/graph/api/oauth2permissiongrant-post,
.../oauth2permissiongrant-update, .../oauth2permissiongrant-delete) and custom directory role definitions
(https://learn.microsoft.com/graph/api/rbacapplication-post-roledefinitions, .../unifiedroledefinition-update,
.../unifiedroledefinition-delete): the two restorable types that are not directory objects with a recycle bin."""

from __future__ import annotations

import random
import uuid

from graph_emulator import audit
from graph_emulator.common import GraphError, Response, bad_request, json_response
from graph_emulator.generator.common import guid, opaque_id
from graph_emulator.graphapi.context import Ctx

NO_CONTENT = Response(204, b"", {}, None)
GRANT_FIELDS = {"clientId", "consentType", "principalId", "resourceId", "scope"}
DEFINITION_FIELDS = {"displayName", "description", "rolePermissions", "isEnabled", "templateId", "resourceScopes",
                     "version"}


def _rng() -> random.Random:
    return random.Random(uuid.uuid4().int)


def _initiator(ctx: Ctx) -> dict:
    return audit.app_initiator(ctx.tenant, ctx.claims)


def _check_grant(tenant, grant: dict) -> None:
    for key in ("clientId", "resourceId"):
        if grant.get(key) not in tenant.objs["servicePrincipals"]:
            raise bad_request(f"Invalid value specified for property '{key}' of resource 'OAuth2PermissionGrant'.")
    if grant.get("consentType") not in ("AllPrincipals", "Principal"):
        raise bad_request("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")
    if (grant["consentType"] == "Principal") != bool(grant.get("principalId")) or (
            grant.get("principalId") and grant["principalId"] not in tenant.objs["users"]):
        raise bad_request("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.")


def _grant_record(ctx: Ctx, verb: str, grant: dict, old_scope: str | None, new_scope: str | None) -> None:
    resource = ctx.tenant.objs["servicePrincipals"].get(grant["resourceId"], {"id": grant["resourceId"]})
    client = ctx.tenant.objs["servicePrincipals"].get(grant["clientId"], {"id": grant["clientId"]})
    props = [audit.scalar("DelegatedPermissionGrant.Scope", old_scope, new_scope),
             audit.scalar("DelegatedPermissionGrant.ConsentType", grant["consentType"], grant["consentType"])]
    audit.record(ctx.tenant, f"{verb} delegated permission grant", "ApplicationManagement", verb.replace(
        "Remove", "Delete"), _initiator(ctx), [audit.target(resource, "ServicePrincipal", props),
                                               audit.target(client, "ServicePrincipal")])


def create_grant(ctx: Ctx) -> Response:
    """POST /oauth2PermissionGrants -> 201; one grant per client, consent type, principal and resource."""
    data = ctx.json()
    unknown = set(data) - GRANT_FIELDS
    if unknown:
        raise bad_request(f"Invalid property '{sorted(unknown)[0]}'.", "BadRequest")
    grant = {"id": opaque_id(_rng(), 33), "clientId": data.get("clientId"), "consentType": data.get("consentType"),
             "principalId": data.get("principalId"), "resourceId": data.get("resourceId"),
             "scope": data.get("scope") or ""}
    _check_grant(ctx.tenant, grant)
    key = ("clientId", "consentType", "principalId", "resourceId")
    if any(all(g.get(k) == grant[k] for k in key) for g in ctx.tenant.objs["oauth2PermissionGrants"].values()):
        raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
    ctx.tenant.apply(["put", "oauth2PermissionGrants", grant])
    _grant_record(ctx, "Add", grant, None, grant["scope"])
    return json_response(201, {"@odata.context": ctx.context_url("oauth2PermissionGrants", entity=True), **grant})


def modify_grant(ctx: Ctx, grant: dict) -> Response:
    """PATCH (only scope can change) -> 204; DELETE -> 204."""
    if ctx.method == "DELETE":
        ctx.tenant.apply(["hard", "oauth2PermissionGrants", grant["id"]])
        _grant_record(ctx, "Remove", grant, grant.get("scope"), None)
        return NO_CONTENT
    if ctx.method != "PATCH":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    data = ctx.json()
    if set(data) - {"scope"}:
        raise bad_request(f"Property '{sorted(set(data) - {'scope'})[0]}' is read-only and cannot be set.")
    old = grant.get("scope")
    ctx.tenant.apply(["patch", "oauth2PermissionGrants", grant["id"], {"scope": str(data.get("scope") or "")}])
    _grant_record(ctx, "Update", grant, old, grant["scope"])
    return NO_CONTENT


def _definition_record(ctx: Ctx, verb: str, definition: dict, props: list | None = None) -> None:
    audit.record(ctx.tenant, f"{verb} role definition", "RoleManagement", verb, _initiator(ctx),
                 [audit.target(definition, "Role", props)])


def create_definition(ctx: Ctx) -> Response:
    """POST /roleManagement/directory/roleDefinitions -> 201: a custom role (isBuiltIn false)."""
    data = ctx.json()
    unknown = set(data) - DEFINITION_FIELDS - {"@odata.type"}
    if unknown:
        raise bad_request(f"Invalid property '{sorted(unknown)[0]}'.", "BadRequest")
    for key in ("displayName", "rolePermissions"):
        if not data.get(key):
            raise bad_request(f"Invalid value specified for property '{key}' of resource 'UnifiedRoleDefinition'.")
    if any(d["displayName"] == data["displayName"] for d in ctx.tenant.objs["roleDefinitions"].values()):
        raise bad_request("A role definition with the same display name already exists.")
    rid = guid(_rng())
    definition = {"id": rid, "description": data.get("description"), "displayName": data["displayName"],
                  "isBuiltIn": False, "isEnabled": bool(data.get("isEnabled", True)),
                  "resourceScopes": data.get("resourceScopes") or ["/"], "rolePermissions": data["rolePermissions"],
                  "templateId": data.get("templateId") or rid, "version": data.get("version")}
    ctx.tenant.apply(["put", "roleDefinitions", definition])
    _definition_record(ctx, "Add", definition)
    return json_response(201, {"@odata.context": ctx.context_url("roleManagement/directory/roleDefinitions",
                                                                 entity=True), **definition})


def modify_definition(ctx: Ctx, definition: dict) -> Response:
    """PATCH / DELETE of a custom role; built-in roles cannot be changed, a role still assigned not deleted."""
    if definition.get("isBuiltIn"):
        raise bad_request("Built-in role definitions cannot be modified or deleted.")
    if ctx.method == "DELETE":
        if any(a["roleDefinitionId"] == definition["id"] for a in ctx.tenant.objs["roleAssignments"].values()):
            raise bad_request("The role definition cannot be deleted while it has role assignments.")
        ctx.tenant.apply(["hard", "roleDefinitions", definition["id"]])
        _definition_record(ctx, "Delete", definition)
        return NO_CONTENT
    if ctx.method != "PATCH":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    data = ctx.json()
    bad = set(data) - (DEFINITION_FIELDS - {"templateId"})
    if bad:
        raise bad_request(f"Property '{sorted(bad)[0]}' is read-only and cannot be set.")
    old = {k: definition.get(k) for k in data}
    ctx.tenant.apply(["patch", "roleDefinitions", definition["id"], data])
    _definition_record(ctx, "Update", definition,
                       [*(audit.modified(k, old[k], v) for k, v in data.items()), audit.included(list(data))])
    return NO_CONTENT

