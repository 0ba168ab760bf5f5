"""The object kinds the emulator stores, with their Graph type, entity set and soft-delete behaviour.

One table so routing, export, delta and deleted-items agree on names (https://learn.microsoft.com/graph/api/resources/directoryobject, https://learn.microsoft.com/graph/api/directory-deleteditems-list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph_emulator import schema


@dataclass(frozen=True)
class Kind:
    name: str  # store key, also the export key
    type: str  # schema type name (data/schema.json)
    entity_set: str  # path used in @odata.context
    soft_delete: bool = False
    delta: bool = False  # a documented GET /{collection}/delta
    directory_object: bool = True  # appears in /directoryObjects and carries @odata.type in mixed lists
    extra: tuple = field(default=())

    @property
    def odata_type(self) -> str:
        return f"#microsoft.graph.{self.type}"

    def props(self) -> list[str]:
        return schema.prop_names(self.type)


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("users", "user", "users", soft_delete=True, delta=True),
    Kind("groups", "group", "groups", soft_delete=True, delta=True),  # only Microsoft 365 groups, see is_soft
    Kind("applications", "application", "applications", soft_delete=True, delta=True),
    Kind("servicePrincipals", "servicePrincipal", "servicePrincipals", soft_delete=True, delta=True),
    Kind("administrativeUnits", "administrativeUnit", "directory/administrativeUnits", soft_delete=True, delta=True),
    Kind("devices", "device", "devices", delta=True),
    Kind("orgContacts", "orgContact", "contacts", delta=True),  # orgcontact-list, orgcontact-delta
    Kind("directoryRoles", "directoryRole", "directoryRoles", delta=True),
    Kind("appRoleAssignments", "appRoleAssignment", "appRoleAssignments"),
    Kind("oauth2PermissionGrants", "oAuth2PermissionGrant", "oauth2PermissionGrants", delta=True,
         directory_object=False),
    Kind("roleDefinitions", "unifiedRoleDefinition", "roleManagement/directory/roleDefinitions",
         directory_object=False),
    Kind("roleAssignments", "unifiedRoleAssignment", "roleManagement/directory/roleAssignments",
         directory_object=False),
    Kind("conditionalAccessPolicies", "conditionalAccessPolicy", "identity/conditionalAccess/policies",
         soft_delete=True, directory_object=False),
    Kind("namedLocations", "namedLocation", "identity/conditionalAccess/namedLocations", soft_delete=True,
         directory_object=False),
    Kind("domains", "domain", "domains", directory_object=False),
    Kind("organization", "organization", "organization"),
]}

# Relationship tables: name -> (source kind, description)
RELATIONS = ("group_members", "group_owners", "au_members", "role_members", "app_owners", "sp_owners")

# directoryObject types that deletedItems accepts in its mandatory type cast (https://learn.microsoft.com/graph/api/directory-deleteditems-list)
DELETED_CASTS = {"user": "users", "group": "groups", "application": "applications",
                 "servicePrincipal": "servicePrincipals", "administrativeUnit": "administrativeUnits"}


def is_soft_deletable(kind: str, obj: dict) -> bool:
    """Security groups are deleted permanently; Microsoft 365 (Unified) groups go to deletedItems (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
    k = KINDS[kind]
    if not k.soft_delete:
        return False
    if kind == "groups":
        return "Unified" in (obj.get("groupTypes") or [])
    return True


# The v1.0 metadata declares the namespace microsoft.graph with the alias "graph", so a type cast segment may
# be written either way; Microsoft's SDKs write /directory/deletedItems/graph.user.
NAMESPACE_PREFIXES = ("microsoft.graph.", "graph.")


def cast_type(segment: str) -> str | None:
    """'microsoft.graph.user' or 'graph.user' -> 'user'; None when the segment is not a type cast."""
    for prefix in NAMESPACE_PREFIXES:
        if segment.startswith(prefix):
            return segment.removeprefix(prefix)
    return None


def kind_of_type(odata_type: str) -> str | None:
    """'#microsoft.graph.user', 'microsoft.graph.user', 'graph.user' or 'user' -> 'users'."""
    t = odata_type.lstrip("#")
    t = cast_type(t) or t
    for k in KINDS.values():
        if k.type == t:
            return k.name
    if t in ("ipNamedLocation", "countryNamedLocation"):
        return "namedLocations"
    return None
