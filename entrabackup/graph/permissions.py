"""Microsoft Graph application permissions each product feature needs.

Sources (application-permission rows of each API's "Permissions" table; least privileged first, then the
higher-privileged permissions that also satisfy it):
user-list, group-list, group-list-members, application-list, serviceprincipal-list,
rbacapplication-list-roleassignments, directory-list-administrativeunits, device-list, domain-list,
organization-get, oauth2permissiongrant-list, conditionalaccessroot-list-policies, namedlocation-list,
authenticationmethodspolicy-get, directoryaudit-list, signin-list, directory-deleteditems-list/restore,
user-post-users, group-post-groups, conditionalaccessroot-post-policies — all under
https://learn.microsoft.com/graph/api/<name> ; names in https://learn.microsoft.com/graph/permissions-reference .
The permission each object type needs is declared once, in the registry (``entrabackup/objecttypes.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from entrabackup import objecttypes

# permission -> the permissions that also satisfy it (higher privileged ones)
SATISFIED_BY: dict[str, tuple[str, ...]] = {
    "User.Read.All": ("User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "GroupMember.Read.All": ("Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All",
                             "Directory.Read.All", "Directory.ReadWrite.All"),
    "Group.Read.All": ("Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "Application.Read.All": ("Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "RoleManagement.Read.Directory": ("RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory",
                                      "Directory.Read.All", "Directory.ReadWrite.All"),
    "AdministrativeUnit.Read.All": ("AdministrativeUnit.ReadWrite.All", "Directory.Read.All",
                                    "Directory.ReadWrite.All"),
    "Device.Read.All": ("Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "Domain.Read.All": ("Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "Organization.Read.All": ("Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "OrgContact.Read.All": ("Directory.Read.All", "Directory.ReadWrite.All"),
    "Directory.Read.All": ("Directory.ReadWrite.All",),
    "Policy.Read.All": ("Policy.ReadWrite.ConditionalAccess",),
    "AuditLog.Read.All": (),
    "User.ReadWrite.All": ("Directory.ReadWrite.All",),
    "Group.ReadWrite.All": ("Directory.ReadWrite.All",),
    "Application.ReadWrite.All": ("Directory.ReadWrite.All",),
    "AdministrativeUnit.ReadWrite.All": ("Directory.ReadWrite.All",),
    "RoleManagement.ReadWrite.Directory": (),
    "Policy.ReadWrite.ConditionalAccess": (),
    "AppRoleAssignment.ReadWrite.All": (),
    "DelegatedPermissionGrant.ReadWrite.All": (),
}

# Reading the recycle bin (directory-deleteditems-list) and the directory extension properties
# (directoryobject-getavailableextensionproperties) needs Directory.Read.All beside each type's own permission.
BACKUP_EXTRA = ("Directory.Read.All",)

FEATURES: dict[str, tuple[str, ...]] = {
    # The broad Directory.Read.All last, after the least privileged permission of each type.
    "directory_backup": (*(p for p in objecttypes.read_permissions("directory_backup") if p not in BACKUP_EXTRA),
                         *BACKUP_EXTRA),
    # signIns and directoryAudits document AuditLog.Read.All *and* Directory.Read.All (signin-list, directoryaudit-list).
    "log_backup": ("AuditLog.Read.All", "Directory.Read.All"),
    "conditional_access": tuple(objecttypes.read_permissions("conditional_access")),
    "restore": tuple(objecttypes.restore_permissions()),
}

def _type_endpoints() -> list[tuple[tuple[str, ...], str, str]]:
    """Each object type's collection (and delta) path -> its read and write permission, from the registry."""
    rows = []
    for t in objecttypes.TYPES:
        for path in {t.path, (t.delta_path or t.path).removesuffix("/delta")}:
            if "{" not in path and t.writeback.permission:
                rows.append((tuple(path.strip("/").split("/")), t.permission, t.writeback.permission))
    return sorted(rows, key=lambda row: -len(row[0]))  # the longest prefix wins


# Path segments -> (read permission, write permission); used to say which permission a 403 lacks.
_ENDPOINTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("groups", "*", "members"), "GroupMember.Read.All", "Group.ReadWrite.All"),
    (("directory", "deletedItems"), "Directory.Read.All", "Directory.ReadWrite.All"),
    (("auditLogs",), "AuditLog.Read.All", "AuditLog.Read.All"),
    *_type_endpoints(),
)

GRANT_INSTRUCTIONS = (
    "Entra admin center > App registrations > {app} > API permissions > Add a permission > Microsoft Graph > "
    "Application permissions: add {permissions}; then click 'Grant admin consent for <tenant>'. "
    "The new roles are in tokens issued afterwards (a running job picks them up within an hour)."
)


def is_satisfied(permission: str, granted: Iterable[str]) -> bool:
    granted = set(granted)
    return permission in granted or any(p in granted for p in SATISFIED_BY.get(permission, ()))


def missing_permissions(granted_roles: Iterable[str], features: Iterable[str] | None = None) -> dict[str, list[str]]:
    """For each feature, the permissions not covered by ``granted_roles`` (the token's ``roles`` claim)."""
    granted = set(granted_roles)
    result = {}
    for feature in features or FEATURES:
        missing = [p for p in FEATURES[feature] if not is_satisfied(p, granted)]
        if missing:
            result[feature] = missing
    return result


def grant_instructions(missing: dict[str, list[str]], app_name: str = "<app>") -> str:
    """Human text telling an administrator how to grant what ``missing_permissions`` returned."""
    needed = sorted({p for perms in missing.values() for p in perms})
    if not needed:
        return "All needed permissions are granted."
    return GRANT_INSTRUCTIONS.format(app=app_name, permissions=", ".join(needed))


def permission_for(method: str, segments: tuple[str, ...]) -> list[str]:
    """The permission(s) an endpoint needs, for a 403 hint; empty when unknown."""
    write = method not in ("GET", "HEAD")
    for prefix, read_perm, write_perm in _ENDPOINTS:
        if len(segments) >= len(prefix) and all(p in ("*", s) for p, s in zip(prefix, segments, strict=False)):
            if prefix == ("auditLogs",):
                return ["AuditLog.Read.All", "Directory.Read.All"]
            return [write_perm if write else read_perm]
    return []
