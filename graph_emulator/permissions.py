"""Application permissions (token `roles`) and which Graph endpoints they open.

THE one table for authorization: ``REQUIRED[area][access]`` lists alternatives; each alternative is a tuple
of roles that must ALL be present (signIns need AuditLog.Read.All *and* Directory.Read.All, https://learn.microsoft.com/graph/api/signin-list).
Handlers name an area; graph dispatch checks it and answers 403 Authorization_RequestDenied otherwise.
"""

from __future__ import annotations

import uuid

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# Published Microsoft Graph application-permission ids (appRoles of the Microsoft Graph service principal).
KNOWN_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
    "Policy.ReadWrite.ConditionalAccess": "01c0a623-fc9b-48e9-b794-0756f8e8f067",
    "Policy.ReadWrite.AuthenticationMethod": "29c18626-4985-4dcd-85c0-193eef327366",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "Device.Read.All": "7438b122-aefc-4978-80ed-43db9fcc7715",
    "Device.ReadWrite.All": "1138cb37-bd11-4084-a2b7-9f71582aeddb",
    "AdministrativeUnit.Read.All": "134fd756-38ce-4afd-ba33-e9623dbe66c2",
    "AdministrativeUnit.ReadWrite.All": "5eb59dd3-1da2-4329-8733-9dabdc435916",
    "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    "Domain.Read.All": "dbb9058a-0e50-45d7-ae91-66909b5d4664",
    "OrgContact.Read.All": "e1a88a34-94c4-4418-be12-c87b00e26bea",
    "DelegatedPermissionGrant.ReadWrite.All": "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
    "Mail.Read": "810c84a8-4a9e-49e6-bf7d-12d183f40d01",
}


def app_role_id(name: str) -> str:
    """Real id when known, else a stable uuid5 so unknown names still get consistent ids."""
    return KNOWN_ROLE_IDS.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"graph-emulator/approle/{name}"))


def _any(*roles: str) -> list[tuple[str, ...]]:
    return [(r,) for r in roles]


DIR_R = ("Directory.Read.All", "Directory.ReadWrite.All")
REQUIRED: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "users": {"read": _any("User.Read.All", "User.ReadWrite.All", *DIR_R),
              "write": _any("User.ReadWrite.All", "Directory.ReadWrite.All")},
    "groups": {"read": _any("Group.Read.All", "Group.ReadWrite.All", *DIR_R),
               "write": _any("Group.ReadWrite.All", "Directory.ReadWrite.All")},
    "group_members": {"read": _any("GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All",
                                   "Group.ReadWrite.All", *DIR_R),
                      "write": _any("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")},
    "applications": {"read": _any("Application.Read.All", "Application.ReadWrite.All", *DIR_R),
                     "write": _any("Application.ReadWrite.All", "Directory.ReadWrite.All")},
    "appRoleAssignments": {"read": _any("Application.Read.All", "Application.ReadWrite.All", "User.Read.All",
                                        "AppRoleAssignment.ReadWrite.All", *DIR_R),
                           "write": _any("AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All")},
    "oauth2PermissionGrants": {"read": _any("DelegatedPermissionGrant.ReadWrite.All", *DIR_R),
                               "write": _any("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")},
    "roles": {"read": _any("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", *DIR_R),
              "write": _any("RoleManagement.ReadWrite.Directory")},
    "administrativeUnits": {"read": _any("AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", *DIR_R),
                            "write": _any("AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All")},
    "conditionalAccess": {"read": _any("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"),
                          "write": _any("Policy.ReadWrite.ConditionalAccess")},
    "authMethodsPolicy": {"read": _any("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"),
                          "write": _any("Policy.ReadWrite.AuthenticationMethod")},
    "devices": {"read": _any("Device.Read.All", "Device.ReadWrite.All", *DIR_R),
                "write": _any("Device.ReadWrite.All", "Directory.ReadWrite.All")},
    "orgContacts": {"read": _any("OrgContact.Read.All", *DIR_R), "write": _any("Directory.ReadWrite.All")},
    "domains": {"read": _any("Domain.Read.All", *DIR_R), "write": _any("Domain.ReadWrite.All")},
    "organization": {"read": _any("Organization.Read.All", "User.Read.All", *DIR_R),
                     "write": _any("Organization.ReadWrite.All")},
    "directoryObjects": {"read": _any(*DIR_R), "write": _any("Directory.ReadWrite.All")},
    "directoryAudits": {"read": _any("AuditLog.Read.All"), "write": []},
    "signIns": {"read": [("AuditLog.Read.All", "Directory.Read.All")], "write": []},
}

# Which area guards each stored kind (deletedItems, directoryObjects lookups, $batch reuse this).
KIND_AREA = {"users": "users", "groups": "groups", "applications": "applications",
             "servicePrincipals": "applications", "administrativeUnits": "administrativeUnits",
             "devices": "devices", "orgContacts": "orgContacts", "directoryRoles": "roles", "roleDefinitions": "roles", "roleAssignments": "roles",
             "appRoleAssignments": "appRoleAssignments", "oauth2PermissionGrants": "oauth2PermissionGrants",
             "conditionalAccessPolicies": "conditionalAccess", "namedLocations": "conditionalAccess",
             "domains": "domains", "organization": "organization"}


def allowed(roles: list[str] | set[str], area: str, access: str) -> bool:
    have = set(roles)
    return any(all(r in have for r in alt) for alt in REQUIRED[area][access])
