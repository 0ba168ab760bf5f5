"""Applications, service principals (incl. Microsoft Graph), app role assignments, delegated grants."""

from __future__ import annotations

import base64

from graph_emulator.common import iso
from graph_emulator.generator.common import guid, opaque_id, past, sub_rng
from graph_emulator.generator.names import APP_WORDS
from graph_emulator.permissions import GRAPH_APP_ID, app_role_id

GRAPH_ROLES = ["User.Read.All", "Group.Read.All", "Directory.Read.All", "AuditLog.Read.All", "Policy.Read.All",
               "Application.Read.All", "RoleManagement.Read.Directory", "Device.Read.All", "User.ReadWrite.All",
               "Group.ReadWrite.All", "Directory.ReadWrite.All", "AdministrativeUnit.Read.All",
               "Policy.ReadWrite.ConditionalAccess", "Application.ReadWrite.All", "GroupMember.Read.All",
               "Organization.Read.All", "Domain.Read.All", "RoleManagement.ReadWrite.Directory",
               "AdministrativeUnit.ReadWrite.All", "Device.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
               "Policy.ReadWrite.AuthenticationMethod", "GroupMember.ReadWrite.All", "Mail.Read"]


def graph_sp(rng, meta: dict) -> dict:
    """The Microsoft Graph resource service principal every tenant has (owner org = Microsoft)."""
    roles = [{"allowedMemberTypes": ["Application"], "description": f"Allows the app to {r}",
              "displayName": r, "id": app_role_id(r), "isEnabled": True, "origin": "Application", "value": r}
             for r in GRAPH_ROLES]
    return sp_for(rng, {"appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "createdDateTime": meta["created_iso"]},
                  meta, owner="f8cdef31-a31e-4b4a-93e4-5f571e91255a", roles=roles)


def make_app(rng, i: int, meta: dict) -> dict:
    name = f"{APP_WORDS[i % len(APP_WORDS)]} {'Connector' if i % 3 else 'Portal'} {i}"
    created = meta["created_at"]
    app = {"id": guid(rng), "appId": guid(rng), "displayName": name, "createdDateTime": past(rng, created, 900, 5),
           "signInAudience": "AzureADMyOrg", "publisherDomain": meta["domain"], "identifierUris": [],
           "tags": [], "addIns": [], "appRoles": [], "info": {"logoUrl": None, "marketingUrl": None,
           "privacyStatementUrl": None, "supportUrl": None, "termsOfServiceUrl": None},
           "keyCredentials": [], "passwordCredentials": [], "groupMembershipClaims": None, "isFallbackPublicClient": None,
           "api": {"acceptMappedClaims": None, "knownClientApplications": [], "oauth2PermissionScopes": [],
                   "preAuthorizedApplications": [], "requestedAccessTokenVersion": 2},
           "web": {"homePageUrl": None, "logoutUrl": None, "redirectUris": [f"https://{name.split()[0].lower()}.{meta['domain']}/signin-oidc"],
                   "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": True}},
           "publicClient": {"redirectUris": []}, "spa": {"redirectUris": []}, "optionalClaims": None,
           "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
           "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
               {"id": app_role_id(r), "type": "Role"} for r in GRAPH_ROLES[i % 5: i % 5 + 2]]}]}
    if i % 2 == 0:
        app["passwordCredentials"] = [credential(rng, created, "password")]
    if i % 3 == 0:
        app["keyCredentials"] = [credential(rng, created, "key")]
    return app


def credential(rng, now: float, kind: str, name: str | None = None, start: float | None = None) -> dict:
    """Credential metadata only: secrets are never readable via Graph, key blobs only on $select
    (https://learn.microsoft.com/graph/api/serviceprincipal-get). `customKeyIdentifier` and `key` are Edm.Binary,
    so they are base64 (https://learn.microsoft.com/graph/api/resources/keycredential).

    Lifetimes are 6, 12 or 24 months and the credential started before `now`: about one in eight has expired,
    one in eight expires within 30 days, the rest are valid. With `start`, the credential starts then and is valid.
    The draws from `rng` are the same in number and kind as before, so nothing else the generator makes moves.
    """
    pick, offset = rng.random(), rng.random()
    if start is None:
        start, end = _lifetime(now, pick, offset)
    else:
        end = start + LIFETIMES_DAYS[int(pick * len(LIFETIMES_DAYS))] * DAY
    if kind == "password":
        return {"customKeyIdentifier": None, "displayName": name or "CI secret", "endDateTime": iso(end),
                "hint": opaque_id(rng, 3)[:3], "keyId": guid(rng), "secretText": None, "startDateTime": iso(start)}
    thumbprint = rng.getrandbits(160).to_bytes(20, "big")  # a certificate's SHA-1 thumbprint, as the portal sets it
    return {"customKeyIdentifier": base64.b64encode(thumbprint).decode(), "displayName": name or "CN=signing",
            "endDateTime": iso(end), "key": None, "keyId": guid(rng), "startDateTime": iso(start),
            "type": "AsymmetricX509Cert", "usage": "Verify"}


DAY = 86400.0
LIFETIMES_DAYS = (182, 365, 730)


def _lifetime(now: float, pick: float, offset: float) -> tuple[float, float]:
    """(start, end) from two uniform draws: `pick` chooses expired / expiring soon / valid and the lifetime."""
    if pick < 0.125:
        end = now - (1 + offset * 179) * DAY  # expired 1-180 days ago
    elif pick < 0.25:
        end = now + (1 + offset * 29) * DAY  # expires within 30 days
    else:
        end = now + (31 + offset * 500) * DAY
    longer = [days * DAY for days in LIFETIMES_DAYS if days * DAY > end - now]  # so it started in the past
    return end - longer[int(pick * 8) % len(longer)], end


def sp_for(rng, app: dict, meta: dict, owner: str | None = None, roles: list | None = None) -> dict:
    return {"id": guid(rng), "appId": app["appId"], "appDisplayName": app["displayName"], "displayName": app["displayName"],
            "accountEnabled": True, "appOwnerOrganizationId": owner or meta["tenant_id"], "appRoleAssignmentRequired": False,
            "appRoles": roles if roles is not None else list(app.get("appRoles", [])), "oauth2PermissionScopes": [],
            "servicePrincipalNames": [app["appId"]], "servicePrincipalType": "Application", "tags": [
                "WindowsAzureActiveDirectoryIntegratedApp"], "signInAudience": app.get("signInAudience", "AzureADMyOrg"),
            "keyCredentials": [], "passwordCredentials": [], "replyUrls": [], "alternativeNames": [], "addIns": [],
            "notificationEmailAddresses": [], "resourceSpecificApplicationPermissions": [],
            "info": app.get("info"), "createdDateTime": app.get("createdDateTime")}


def assignment(rng, principal: dict, ptype: str, resource: dict, role_id: str, created: float) -> dict:
    return {"id": opaque_id(rng), "appRoleId": role_id, "createdDateTime": past(rng, created, 300, 1),
            "principalDisplayName": principal["displayName"], "principalId": principal["id"], "principalType": ptype,
            "resourceDisplayName": resource["displayName"], "resourceId": resource["id"]}


def generate_apps(tenant, users: list[dict], groups: list[dict]) -> None:
    meta, put = tenant.meta, tenant.objs
    rng = sub_rng(meta["seed"], "apps")
    graph = graph_sp(rng, meta)
    graph.pop("createdDateTime")
    put["servicePrincipals"][graph["id"]] = graph
    n = max(4, len(users) // 50)
    for i in range(n):
        app = make_app(rng, i, meta)
        sp = sp_for(rng, app, meta)
        sp.pop("createdDateTime", None)
        put["applications"][app["id"]], put["servicePrincipals"][sp["id"]] = app, sp
        for ra in app["requiredResourceAccess"][0]["resourceAccess"]:
            a = assignment(rng, sp, "ServicePrincipal", graph, ra["id"], meta["created_at"])
            put["appRoleAssignments"][a["id"]] = a
        for u in rng.sample(users, k=min(len(users), 3)):  # users assigned to the enterprise app (default access)
            a = assignment(rng, u, "User", sp, "00000000-0000-0000-0000-000000000000", meta["created_at"])
            put["appRoleAssignments"][a["id"]] = a
        if i % 4 == 0 and groups:
            g = groups[i % len(groups)]
            a = assignment(rng, g, "Group", sp, "00000000-0000-0000-0000-000000000000", meta["created_at"])
            put["appRoleAssignments"][a["id"]] = a
        grant = {"id": opaque_id(rng, 33), "clientId": sp["id"], "consentType": "AllPrincipals" if i % 3 else "Principal",
                 "principalId": None if i % 3 else users[i % len(users)]["id"], "resourceId": graph["id"],
                 "scope": "User.Read openid profile offline_access"}
        put["oauth2PermissionGrants"][grant["id"]] = grant
    _link_owners(tenant, users)


def _link_owners(tenant, users: list[dict]) -> None:
    """Owners of the tenant's own applications (1-2 users) and their service principals (0-1 user); Microsoft
    Graph's SP has none. Own random stream, so adding owners changed nothing else the generator makes."""
    rng = sub_rng(tenant.meta["seed"], "app-owners")
    apps_by_app_id = {a["appId"]: a for a in tenant.objs["applications"].values()}
    for rel, table in (("app_owners", "applications"), ("sp_owners", "servicePrincipals")):
        for oid in sorted(tenant.objs[table]):
            if table == "servicePrincipals" and tenant.objs[table][oid]["appId"] not in apps_by_app_id:
                continue
            count = rng.randint(1, 2) if rel == "app_owners" else rng.randint(0, 1)
            for u in rng.sample(users, k=min(len(users), count)):
                tenant.rel[rel].setdefault(oid, {})[u["id"]] = None
                tenant.rev[rel].setdefault(u["id"], set()).add(oid)
