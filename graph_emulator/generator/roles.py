"""Directory roles (activated), unified role definitions (built-in + custom) and role assignments."""

from __future__ import annotations

from graph_emulator.generator.common import guid, opaque_id, sub_rng

# Built-in Entra roles: (displayName, templateId) — template ids are the documented, tenant-independent ones.
BUILTIN_ROLES = [
    ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10"),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"),
    ("Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d"),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
    ("Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"),
    ("Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c"),
    ("Conditional Access Administrator", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"),
    ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"),
    ("SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"),
    ("Billing Administrator", "b0f54661-2d74-4c50-afa3-1ec803f12efe"),
    ("Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f"),
    ("Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"),
    ("Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d"),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"),
    ("Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5"),
    ("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
]
GLOBAL_ADMIN_TEMPLATE = BUILTIN_ROLES[0][1]
ACTIVATED = 8  # the first N built-ins are activated (have a directoryRole object)


def role_definition(name: str, template: str, builtin: bool = True) -> dict:
    actions = ["microsoft.directory/users/standard/read"] + (
        ["microsoft.directory/users/basic/update", "microsoft.directory/groups/members/update"] if "Admin" in name else [])
    return {"id": template, "description": f"Can manage all aspects of {name.lower()} tasks." if builtin else
            f"Custom role: {name}", "displayName": name, "isBuiltIn": builtin, "isEnabled": True,
            "resourceScopes": ["/"], "rolePermissions": [{"allowedResourceActions": actions, "condition": None}],
            "templateId": template, "version": "1" if builtin else None}


def role_assignment_id(rng) -> str:
    """Ids look like 'lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1' (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments)."""
    return f"{opaque_id(rng)}-1"


def generate_roles(tenant, users: list[dict], aus: list[dict]) -> None:
    rng = sub_rng(tenant.meta["seed"], "roles")
    objs = tenant.objs
    for name, template in BUILTIN_ROLES:
        objs["roleDefinitions"][template] = role_definition(name, template)
    for name in ("Tier 1 Helpdesk", "App Owner Reviewer"):
        rid = guid(rng)
        objs["roleDefinitions"][rid] = role_definition(name, rid, builtin=False)
    members = [u for u in users if u["userType"] == "Member"]
    for k, (name, template) in enumerate(BUILTIN_ROLES[:ACTIVATED]):
        role = {"id": guid(rng), "description": f"Can manage {name.lower()} features.", "displayName": name,
                "roleTemplateId": template}
        objs["directoryRoles"][role["id"]] = role
        holders = members[: 3] if k == 0 else rng.sample(members, k=min(len(members), 1 + k % 3))
        for u in holders:
            add_role_member(tenant, rng, role["id"], template, u["id"])
    for au in aus[:2]:  # AU-scoped assignment (directoryScopeId /administrativeUnits/{id})
        ra = {"id": role_assignment_id(rng), "principalId": rng.choice(members)["id"],
              "roleDefinitionId": BUILTIN_ROLES[1][1], "directoryScopeId": f"/administrativeUnits/{au['id']}",
              "appScopeId": None, "condition": None}
        objs["roleAssignments"][ra["id"]] = ra


def add_role_member(tenant, rng, role_id: str, template: str, principal_id: str) -> dict:
    """Tenant-wide assignment = directoryRole member + unifiedRoleAssignment at scope '/' (kept consistent)."""
    tenant.rel["role_members"].setdefault(role_id, {})[principal_id] = None
    tenant.rev["role_members"].setdefault(principal_id, set()).add(role_id)
    ra = {"id": role_assignment_id(rng), "principalId": principal_id, "roleDefinitionId": template,
          "directoryScopeId": "/", "appScopeId": None, "condition": None}
    tenant.objs["roleAssignments"][ra["id"]] = ra
    return ra
