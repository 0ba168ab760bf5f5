"""Writes a restore needs (https://learn.microsoft.com/graph/api/user-post-users): POST/PATCH/DELETE per type with Graph's validation, $ref links,
manager, appRoleAssignments, restore/purge of deleted items. Every write leaves a directory audit record."""

from __future__ import annotations

import copy
import random
import uuid

import orjson

from graph_emulator import audit, views
from graph_emulator.common import GraphError, Response, bad_request, iso, json_response, not_found
from graph_emulator.generator.apps import assignment
from graph_emulator.graphapi import grants, roles
from graph_emulator.graphapi.context import Ctx
from graph_emulator.kinds import KINDS, is_soft_deletable, kind_of_type
from graph_emulator.writerules import (
    AUDIT_TYPE,
    check_ca_references,
    check_create,
    check_patch,
    check_synced,
    created_defaults,
    full_ca_policy,
    members_binds,
)

NO_CONTENT = Response(204, b"", {}, None)


def _initiator(ctx: Ctx) -> dict:
    return audit.app_initiator(ctx.tenant, ctx.claims)


def create(ctx: Ctx, kind: str) -> Response:
    if kind in SPECIAL_CREATE:
        return SPECIAL_CREATE[kind](ctx)
    tenant = ctx.tenant
    data = ctx.json()
    binds = members_binds(data)
    check_create(tenant, kind, data)
    for _, ids in binds:  # every bound object must exist before anything is written
        for oid in ids:
            if tenant.find(oid) is None:
                raise not_found(oid)
    obj = created_defaults(tenant, kind, data)
    tenant.apply(["put", kind, obj])
    t = AUDIT_TYPE[kind]
    noun = _noun(kind)
    if kind in POLICY_PROPERTY:
        props = policy_props(kind, None, obj)
    else:
        props = [audit.modified(k, None, v) for k, v in data.items() if "@" not in k and k != "passwordProfile"]
    audit.record(tenant, f"Add {noun}", audit.CATEGORY[t], "Add", _initiator(ctx), [audit.target(obj, t, props)])
    for rel, ids in binds:
        for oid in ids:
            tenant.apply(["link", rel, obj["id"], oid])
            _member_audit(ctx, kind, rel, obj, oid, "Add")
    sel = views.normalize_select(kind, None)
    body = {"@odata.context": ctx.context_url(KINDS[kind].entity_set, entity=True), **views.project(kind, obj, sel)}
    if kind == "users":  # POST /users answers with the default property set (docs example)
        body = {"@odata.context": body["@odata.context"], **views.project(kind, obj, None)}
    return json_response(201, body)


def _noun(kind: str) -> str:
    return {"users": "user", "groups": "group", "applications": "application", "servicePrincipals": "service principal",
            "administrativeUnits": "administrative unit", "conditionalAccessPolicies": "conditional access policy",
            "namedLocations": "named location", "devices": "device"}.get(kind, kind)


def modify(ctx: Ctx, kind: str, obj: dict) -> Response:
    if kind in SPECIAL_MODIFY:
        return SPECIAL_MODIFY[kind](ctx, obj)
    if ctx.method == "PATCH":
        return patch(ctx, kind, obj)
    if ctx.method == "DELETE":
        return delete(ctx, kind, obj)
    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def patch(ctx: Ctx, kind: str, obj: dict) -> Response:
    tenant = ctx.tenant
    data = ctx.json()
    binds = members_binds(data)
    check_patch(kind, obj, data)
    check_synced(kind, obj, data)
    if kind == "conditionalAccessPolicies":
        check_ca_references(tenant, data)
    for _, ids in binds:
        for oid in ids:
            if tenant.find(oid) is None:
                raise not_found(oid)
    changes = {k: v for k, v in data.items() if "@" not in k}
    if kind == "users" and "passwordProfile" in changes:
        changes["passwordProfile"] = None  # never stored: Graph doesn't return it
        changes["lastPasswordChangeDateTime"] = iso(tenant.now())
    if kind in ("conditionalAccessPolicies", "namedLocations"):
        changes["modifiedDateTime"] = iso(tenant.now())
    if kind == "conditionalAccessPolicies":
        changes = full_ca_policy(changes)
    before = copy.deepcopy(obj)
    old = {k: obj.get(k) for k in changes}
    tenant.apply(["patch", kind, obj["id"], changes])
    t = AUDIT_TYPE[kind]
    if kind in ("conditionalAccessPolicies", "namedLocations"):
        props = policy_props(kind, before, obj)
    else:
        props = [audit.modified(k, old[k], v) for k, v in changes.items() if k != "passwordProfile"]
        props.append(audit.included(list(changes)))
    if changes:
        audit.record(tenant, f"Update {_noun(kind)}", audit.CATEGORY[t], "Update", _initiator(ctx),
                     [audit.target(obj, t, props)])
    for rel, ids in binds:
        for oid in ids:
            if oid not in tenant.rel[rel].get(obj["id"], {}):
                tenant.apply(["link", rel, obj["id"], oid])
                _member_audit(ctx, kind, rel, obj, oid, "Add")
    return NO_CONTENT


SPECIAL_CREATE = {"roleAssignments": roles.create_assignment, "oauth2PermissionGrants": grants.create_grant,
                  "roleDefinitions": grants.create_definition}
SPECIAL_MODIFY = {"oauth2PermissionGrants": grants.modify_grant, "roleDefinitions": grants.modify_definition}
POLICY_PROPERTY = {"conditionalAccessPolicies": "ConditionalAccessPolicy", "namedLocations": "NamedLocation"}


def policy_props(kind: str, before: dict | None, after: dict | None) -> list[dict]:
    """Conditional Access records carry the whole policy, old and new, as one JSON-encoded modified property."""
    enc = lambda o: None if o is None else orjson.dumps(o).decode()  # noqa: E731
    return [{"displayName": POLICY_PROPERTY[kind], "oldValue": enc(before), "newValue": enc(after)}]


def delete(ctx: Ctx, kind: str, obj: dict) -> Response:
    tenant = ctx.tenant
    if kind not in ("users", "groups", "applications", "servicePrincipals", "administrativeUnits", "devices",
                    "conditionalAccessPolicies", "namedLocations", "oauth2PermissionGrants", "roleAssignments"):
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    if kind == "roleAssignments":
        return roles.delete_assignment(ctx, obj)
    if obj.get("onPremisesSyncEnabled"):  # synced objects are deleted on-premises, never in the cloud
        check_synced(kind, obj, {"displayName": None})
    if is_soft_deletable(kind, obj):
        tenant.apply(["soft", kind, obj["id"], iso(tenant.now())])
    else:
        tenant.apply(["hard", kind, obj["id"]])
    t = AUDIT_TYPE.get(kind, "Directory")
    props = policy_props(kind, obj, None) if kind in POLICY_PROPERTY else None
    audit.record(tenant, f"Delete {_noun(kind)}", audit.CATEGORY[t], "Delete", _initiator(ctx),
                 [audit.target(obj, t, props)])
    return NO_CONTENT


def restore(ctx: Ctx, kind: str, obj: dict) -> Response:
    """POST .../restore -> 200 + the restored object with @odata.type (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
    tenant = ctx.tenant
    data = ctx.json() if ctx.body else {}
    if kind == "users":  # the UPN may have been taken since: restore under newUserPrincipalName then
        upn = str(data.get("newUserPrincipalName") or obj.get("userPrincipalName") or "").lower()
        if any(u.get("userPrincipalName", "").lower() == upn for u in tenant.objs["users"].values()):
            raise bad_request("Another object with the same value for property userPrincipalName already exists.")
    tenant.apply(["restore", kind, obj["id"]])
    if data.get("newUserPrincipalName") and kind == "users":
        tenant.apply(["patch", kind, obj["id"], {"userPrincipalName": data["newUserPrincipalName"]}])
    t = AUDIT_TYPE.get(kind, "Directory")
    audit.record(tenant, f"Restore {_noun(kind)}", audit.CATEGORY[t], "Restore", _initiator(ctx),
                 [audit.target(obj, t)])
    restored = tenant.objs[kind][obj["id"]]
    body = {"@odata.context": ctx.context_url("directoryObjects", entity=True),
            **views.project(kind, restored, None, typed=True)}
    return json_response(200, body)


def purge(ctx: Ctx, kind: str, obj: dict) -> Response:
    ctx.tenant.apply(["hard", kind, obj["id"]])
    t = AUDIT_TYPE.get(kind, "Directory")
    audit.record(ctx.tenant, f"Hard Delete {_noun(kind)}", audit.CATEGORY[t], "Delete", _initiator(ctx),
                 [audit.target(obj, t)])
    return NO_CONTENT


REL_OF = {("groups", "members"): "group_members", ("groups", "owners"): "group_owners",
          ("administrativeUnits", "members"): "au_members", ("directoryRoles", "members"): "role_members",
          ("applications", "owners"): "app_owners", ("servicePrincipals", "owners"): "sp_owners"}


def ref_change(ctx: Ctx, kind: str, obj: dict, nav: str, rest: list[str]) -> Response:
    """POST /{nav}/$ref {"@odata.id": ".../directoryObjects/{id}"} or DELETE /{nav}/{id}/$ref."""
    tenant = ctx.tenant
    rel = REL_OF.get((kind, nav))
    if kind == "directoryRoles" and nav == "members":
        return roles.member_ref(ctx, obj, rest)
    if rel is None:
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    if kind == "groups" and nav == "members":
        check_synced(kind, obj, {"members": None})
        if "DynamicMembership" in (obj.get("groupTypes") or []):
            raise bad_request("Insufficient privileges to complete the operation: members of a group with dynamic "
                              "membership are managed by its membership rule.")
    if ctx.method == "POST" and rest == ["$ref"]:
        ref = str(ctx.json().get("@odata.id", ""))
        oid = ref.rstrip("/").split("/")[-1].split("('")[-1].rstrip("')")
        if tenant.find(oid) is None:
            raise not_found(oid)
        if oid in tenant.rel[rel].get(obj["id"], {}):
            raise bad_request("One or more added object references already exist for the following modified "
                              f"properties: '{nav}'.")
        tenant.apply(["link", rel, obj["id"], oid])
        _member_audit(ctx, kind, rel, obj, oid, "Add")
        return NO_CONTENT
    if ctx.method == "DELETE" and len(rest) == 2:
        oid = rest[0]
        if oid not in tenant.rel[rel].get(obj["id"], {}):
            raise not_found(oid)
        tenant.apply(["unlink", rel, obj["id"], oid])
        _member_audit(ctx, kind, rel, obj, oid, "Remove")
        return NO_CONTENT
    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def _member_audit(ctx: Ctx, kind: str, rel: str, obj: dict, oid: str, verb: str) -> None:
    member_audit(ctx.tenant, _initiator(ctx), kind, rel, obj, oid, verb)


def member_audit(tenant, initiator: dict, kind: str, rel: str, obj: dict, oid: str, verb: str) -> str:
    """"Add member to group", "Remove owner from application"...: the member (or owner) first, carrying the
    container's ids and name (Group.ObjectID, Group.DisplayName...), then the container."""
    what = "owner" if rel.endswith("_owners") else "member"
    where = {"groups": "group", "administrativeUnits": "administrative unit", "directoryRoles": "role",
             "applications": "application", "servicePrincipals": "service principal"}[kind]
    prep = "to" if verb == "Add" else "from"
    hit = tenant.find(oid) or (None, {"id": oid})
    t = AUDIT_TYPE.get(hit[0], "User") if hit[0] else "User"
    props = audit.container_props(kind, obj, added=verb == "Add")
    container = AUDIT_TYPE.get(kind, "Role")
    return audit.record(tenant, f"{verb} {what} {prep} {where}", audit.CATEGORY[container], verb, initiator,
                        [audit.target(hit[1], t, props), audit.target(obj, container)])


def set_manager(ctx: Ctx, user: dict, rest: list[str]) -> Response:
    tenant = ctx.tenant
    old = tenant.managers.get(user["id"])
    if ctx.method == "PUT":
        oid = str(ctx.json().get("@odata.id", "")).rstrip("/").split("/")[-1]
        if tenant.find(oid) is None:
            raise not_found(oid)
        tenant.apply(["manager", user["id"], oid])
    else:
        if old is None:
            raise not_found("manager")
        tenant.apply(["manager", user["id"], None])
    new = tenant.managers.get(user["id"])
    manager_audit(tenant, _initiator(ctx), user, old, new)
    return NO_CONTENT


def manager_audit(tenant, initiator: dict, user: dict, old: str | None, new: str | None) -> str:
    """"Set user manager" / "Remove user manager": the user, then the manager set (or removed)."""
    other = tenant.find(new or old or "") or ("users", {"id": new or old})
    activity = "Set user manager" if new else "Remove user manager"
    return audit.record(tenant, activity, "UserManagement", "Update", initiator,
                        [audit.target(user, "User"), audit.target(other[1], "User")])


def create_app_role_assignment(ctx: Ctx, kind: str, obj: dict, nav: str) -> Response:
    tenant = ctx.tenant
    data = ctx.json()
    for key in ("principalId", "resourceId", "appRoleId"):
        if not data.get(key):
            raise bad_request(f"Invalid value specified for property '{key}' of resource 'AppRoleAssignment'.")
    if nav == "appRoleAssignments" and data["principalId"] != obj["id"]:
        raise bad_request("principalId must be the id of the object in the request path.")
    if nav == "appRoleAssignedTo" and data["resourceId"] != obj["id"]:
        raise bad_request("resourceId must be the id of the service principal in the request path.")
    principal, resource = tenant.find(data["principalId"]), tenant.objs["servicePrincipals"].get(data["resourceId"])
    if principal is None or resource is None:
        raise not_found(data["principalId"] if principal is None else data["resourceId"])
    if data["appRoleId"] != "00000000-0000-0000-0000-000000000000" and data["appRoleId"] not in {
            r["id"] for r in resource.get("appRoles", [])}:
        raise bad_request("Permission being assigned was not found on application")
    ptype = {"users": "User", "groups": "Group", "servicePrincipals": "ServicePrincipal"}[principal[0]]
    rng = random.Random(uuid.uuid4().int)
    a = assignment(rng, principal[1], ptype, resource, data["appRoleId"], tenant.now())
    a["createdDateTime"] = iso(tenant.now())
    if any(x["principalId"] == a["principalId"] and x["resourceId"] == a["resourceId"]
           and x["appRoleId"] == a["appRoleId"] for x in tenant.objs["appRoleAssignments"].values()):
        raise bad_request("Permission being assigned already exists on the object")
    tenant.apply(["put", "appRoleAssignments", a])
    audit.record(tenant, APP_ROLE_ACTIVITY[ptype][0],
                 "ApplicationManagement", "Assign", _initiator(ctx),
                 [audit.target(resource, "ServicePrincipal"), audit.target(principal[1], ptype)])
    body = {"@odata.context": ctx.context_url("appRoleAssignments", entity=True), **a}
    return json_response(201, body)


APP_ROLE_ACTIVITY = {  # (add, remove) per principal type
    "User": ("Add app role assignment grant to user", "Remove app role assignment from user"),
    "Group": ("Add app role assignment to group", "Remove app role assignment from group"),
    "ServicePrincipal": ("Add app role assignment to service principal",
                         "Remove app role assignment from service principal")}


def delete_app_role_assignment(ctx: Ctx, obj: dict, aid: str) -> Response:
    a = ctx.tenant.objs["appRoleAssignments"].get(aid)
    if a is None or obj["id"] not in (a["principalId"], a["resourceId"]):
        raise not_found(aid)
    ctx.tenant.apply(["hard", "appRoleAssignments", aid])
    principal = {"id": a["principalId"], "displayName": a.get("principalDisplayName")}
    audit.record(ctx.tenant, APP_ROLE_ACTIVITY[a["principalType"]][1], "ApplicationManagement", "Unassign",
                 _initiator(ctx), [audit.target({"id": a["resourceId"], "displayName": a["resourceDisplayName"]},
                                                "ServicePrincipal"), audit.target(principal, a["principalType"])])
    return NO_CONTENT


def patch_auth_policy(ctx: Ctx) -> Response:
    data = ctx.json()
    policy = dict(ctx.tenant.auth_policy)
    for k, v in data.items():
        if k in ("id", "lastModifiedDateTime", "policyVersion"):
            raise bad_request(f"Property '{k}' is read-only and cannot be set.")
        policy[k] = v
    policy["lastModifiedDateTime"] = iso(ctx.tenant.now())
    ctx.tenant.apply(["authpolicy", policy])
    audit.record(ctx.tenant, "Update authentication methods policy", "Policy", "Update", _initiator(ctx),
                 [audit.target({"id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy"},
                               "Policy", [audit.modified(k, None, v) for k, v in data.items()])])
    return NO_CONTENT


__all__ = ["create", "modify", "restore", "purge", "ref_change", "set_manager", "kind_of_type"]
