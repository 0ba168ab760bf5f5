"""Security-relevant changes between a restore point and the one before it, found with the compare machinery
(restore/compare.py on repositories/store/diff.py) restricted to the few types that matter, so a backup
session pays for the objects those types changed and nothing else.

Django-free: it takes a repository store and returns Findings.

- a Conditional Access policy disabled (enabled -> disabled or report-only), deleted, or weakened: grant or
  session controls removed, an "AND" of grant controls turned into "OR", users, groups, roles, applications
  or locations excluded, or ones it included removed;
- a new Global Administrator: a role assignment of the Global Administrator role definition, or a member
  added to the activated Global Administrator directory role (one finding per principal);
- a credential added to an application or a service principal: `passwordCredentials` or `keyCredentials`
  gained a `keyId`;
- a mass deletion: the restore point marked at least `count` objects deleted, or at least `percent` % of
  the objects of a type the previous restore point held (types of at least 10 objects).

References: https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy,
https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference#global-administrator,
https://learn.microsoft.com/graph/api/resources/passwordcredential
"""

from dataclasses import dataclass, field

from restore.compare import CHANGED, CREATED, DELETED, ObjectChange, compare

# The Global Administrator role's template id (the same in every tenant; permissions-reference above).
GLOBAL_ADMIN_TEMPLATE = "62e90394-69f5-4237-9190-012177145e10"
WATCHED_TYPES = ["conditionalAccessPolicy", "application", "servicePrincipal", "roleAssignment", "directoryRole"]
CA_LOOSENED_STATES = {"disabled", "enabledForReportingButNotEnforced"}
CA_EXCLUDES = {"users": ("excludeUsers", "excludeGroups", "excludeRoles", "excludeGuestsOrExternalUsers"),
               "applications": ("excludeApplications",), "locations": ("excludeLocations",),
               "platforms": ("excludePlatforms",)}
CA_INCLUDES = {"users": ("includeUsers", "includeGroups", "includeRoles"),
               "applications": ("includeApplications",)}
CREDENTIALS = ("passwordCredentials", "keyCredentials")
MASS_PERCENT_MIN_OBJECTS = 10

CA_WEAKENED, GLOBAL_ADMIN, CREDENTIAL_ADDED, MASS_DELETION = "ca_weakened", "global_admin", "credential_added", "mass_deletion"


@dataclass
class Finding:
    """One security-relevant change: `kind` (above), a one-line `title`, what changed (`details`), and the
    objects concerned as {type, id, name}."""

    kind: str
    title: str
    details: list[str] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "details": self.details, "objects": self.objects}


@dataclass(frozen=True)
class Thresholds:
    mass_delete_count: int
    mass_delete_percent: int


def security_findings(store, tenant_key: str, previous: int, current: int, thresholds: Thresholds) -> list[Finding]:
    """Findings of restore point `current` against `previous` (both committed restore points of the tenant)."""
    report = compare(store, tenant_key, previous, current, types=WATCHED_TYPES)
    findings = []
    for change in report.changes:
        if change.object_type == "conditionalAccessPolicy":
            findings += _policy(change)
        elif change.object_type in ("application", "servicePrincipal"):
            findings += _credentials(change)
    findings += _global_admins(store, tenant_key, current, report.changes)
    findings += _mass_deletion(store, tenant_key, previous, current, thresholds)
    return findings


def _ref(change: ObjectChange) -> dict:
    return {"type": change.object_type, "id": change.object_id, "name": change.label}


def _policy(change: ObjectChange) -> list[Finding]:
    if change.change == DELETED:
        return [Finding(CA_WEAKENED, f"Conditional Access policy deleted: {change.label}", ["the policy was deleted"],
                        [_ref(change)])]
    old, new = change.old or {}, change.new or {}
    if change.change != CHANGED or not old or not new:
        return []
    details = []
    if old.get("state") == "enabled" and new.get("state") in CA_LOOSENED_STATES:
        details.append(f"state: enabled -> {new['state']}")
    details += _grant_weakened(old.get("grantControls") or {}, new.get("grantControls") or {})
    if old.get("sessionControls") and not new.get("sessionControls"):
        details.append("session controls removed")
    details += _scope_widened(old.get("conditions") or {}, new.get("conditions") or {})
    if not details:
        return []
    verb = "disabled" if details[0].startswith("state:") else "weakened"
    return [Finding(CA_WEAKENED, f"Conditional Access policy {verb}: {change.label}", details, [_ref(change)])]


def _grant_weakened(old: dict, new: dict) -> list[str]:
    details = []
    removed = sorted(set(old.get("builtInControls") or []) - set(new.get("builtInControls") or []))
    if removed:
        details.append(f"grant controls removed: {', '.join(removed)}")
    if old.get("authenticationStrength") and not new.get("authenticationStrength"):
        details.append("authentication strength removed")
    if (old.get("operator") or "").upper() == "AND" and (new.get("operator") or "").upper() == "OR" \
            and len(new.get("builtInControls") or []) > 1:
        details.append("grant controls changed from all required (AND) to any one (OR)")
    return details


def _scope_widened(old: dict, new: dict) -> list[str]:
    details = []
    for section, names in CA_EXCLUDES.items():
        for name in names:
            added = _listed(new, section, name) - _listed(old, section, name)
            if added:
                details.append(f"{section}.{name}: {len(added)} added")
    for section, names in CA_INCLUDES.items():
        for name in names:
            removed = _listed(old, section, name) - _listed(new, section, name)
            if removed:
                details.append(f"{section}.{name}: {len(removed)} removed")
    return details


def _listed(conditions: dict, section: str, name: str) -> set[str]:
    value = (conditions.get(section) or {}).get(name)
    if isinstance(value, list):
        return {str(v) for v in value}
    return {"set"} if value else set()  # excludeGuestsOrExternalUsers is an object


def _credentials(change: ObjectChange) -> list[Finding]:
    if change.change != CHANGED or not change.old or not change.new:
        return []
    details = []
    for name in CREDENTIALS:
        before = {c.get("keyId") for c in change.old.get(name) or []}
        added = [c for c in change.new.get(name) or [] if c.get("keyId") not in before]
        details += [f"{name}: {c.get('displayName') or 'unnamed'} (keyId {c.get('keyId')})" for c in added]
    if not details:
        return []
    what = "an application" if change.object_type == "application" else "a service principal"
    return [Finding(CREDENTIAL_ADDED, f"Credential added to {what}: {change.label}", details, [_ref(change)])]


def _global_admins(store, tenant_key: str, current: int, changes: list[ObjectChange]) -> list[Finding]:
    """One finding per new principal, whether seen as a role assignment or as a directory role member."""
    principals: dict[str, dict] = {}
    for change in changes:
        data = change.new or {}
        if change.object_type == "roleAssignment" and change.change == CREATED \
                and data.get("roleDefinitionId") == GLOBAL_ADMIN_TEMPLATE:
            principals.setdefault(data.get("principalId"), {"type": "roleAssignment", "id": change.object_id})
        if change.object_type == "directoryRole" and _is_global_admin_role(store, tenant_key, current, change):
            for rel in change.relations:
                if rel.kind == "directory_role_member" and rel.change == "added" and rel.outgoing:
                    principals.setdefault(rel.other.object_id, {"type": rel.other.object_type, "id": rel.other.object_id})
    if not principals:
        return []
    names = store.names(tenant_key, [p for p in principals if p], current)
    findings = []
    for principal in principals:
        otype, name, upn = (names.get(principal) or (None, None, None))[:3]
        label = f"{name} ({upn})" if name and upn else name or upn or principal
        findings.append(Finding(GLOBAL_ADMIN, f"New Global Administrator: {label}", [f"principal id {principal}"],
                                [{"type": otype or "principal", "id": principal, "name": label}]))
    return findings


def _is_global_admin_role(store, tenant_key: str, current: int, change: ObjectChange) -> bool:
    data = change.new or change.old
    if data is None:
        row = store.get_object(tenant_key, current, "directoryRole", change.object_id)
        data = row.data if row else {}
    return (data or {}).get("roleTemplateId") == GLOBAL_ADMIN_TEMPLATE


def _mass_deletion(store, tenant_key: str, previous: int, current: int, thresholds: Thresholds) -> list[Finding]:
    deleted = {t: c.deleted for t, c in store.changes(tenant_key, current).items() if c.deleted}
    if not deleted:
        return []
    before = store.type_counts(tenant_key, previous)
    total = sum(deleted.values())
    heavy = [t for t, n in deleted.items() if before.get(t, 0) >= MASS_PERCENT_MIN_OBJECTS
             and thresholds.mass_delete_percent and n * 100 >= thresholds.mass_delete_percent * before[t]]
    if not (thresholds.mass_delete_count and total >= thresholds.mass_delete_count) and not heavy:
        return []
    details = [f"{t}: {n} deleted of {before.get(t, 0)}" for t, n in sorted(deleted.items())]
    return [Finding(MASS_DELETION, f"Mass deletion: {total} objects deleted in one restore point", details)]
