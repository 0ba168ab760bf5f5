"""The one registry of the directory object types the product backs up.

Each ``ObjectType`` says everything the product knows about a type: its name (the repository's
``object_type``), its Graph entity type and documented request paths, how it is read (delta query, a plain
listing, a singleton, or a special reader), its page size, its volatile properties, the application
permission it needs (and the feature that permission belongs to), its relationships, how it is shown, and
how it is written back (a slot the restore work fills). Every other table of object types in the product is
derived from ``TYPES``: the collectors (``jobs/backup``), the Graph client's collections
(``entrabackup/graph/properties.py``), the permissions each feature needs (``entrabackup/graph/permissions.py``),
the repository's volatile properties and relation kinds (``repositories/store``), the navigation properties
of an export (``restore``) and the job form. Plain Python (no Django), importable from any layer.

Paths are the ones Microsoft Learn documents in each API's "HTTP request" section (the ``doc`` page of each
type; ``docs/graph-paths.md`` lists every path the product requests). Adding a type: docs/architecture.md,
"Adding an object type".
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEARN = "https://learn.microsoft.com/graph/api/"

# How a type is read (jobs/backup): a delta round, a complete listing of the collection, the single object
# at the path, or a reader of its own.
DELTA, LISTING, SINGLETON, SPECIAL = "delta", "listing", "singleton", "special"

# How a relationship is read: from the type's delta round (``<navigation>@delta`` annotations), from the
# ``/owners`` of each object (delta does not track owners), or from each object's navigation listed on its own.
FROM_DELTA, FROM_OWNERS, FROM_LISTING = "delta", "owners", "listing"


@dataclass(frozen=True)
class Relation:
    """A relationship stored in ``relation_version`` with this ``kind``: the source is an object of the type
    that declares it, ``navigation`` its navigation property in Graph (and in an export)."""

    kind: str
    navigation: str
    read: str  # FROM_DELTA | FROM_OWNERS | FROM_LISTING
    single_valued: bool = False  # the annotation states the whole value (a user's one manager)


# Why an attribute is not written back (the plan lists each with one of these reasons).
READ_ONLY = "read-only: Graph sets it and rejects a write"
SYNCED = "synced from on-premises: Entra Connect owns it; change it in Active Directory"
NOT_RESTORABLE = "not restorable"

# How a relationship is written back (restore/plan.py): one member per POST .../$ref, up to 20 per PATCH
# with members@odata.bind, or the single-valued PUT .../manager/$ref.
REF, BIND, SINGLE = "ref", "bind", "single"


@dataclass(frozen=True)
class LinkWrite:
    """How a relationship kind is written: ``path`` is the collection of the source's navigation property,
    relative to the version root, with ``{id}`` for the source (``/groups/{id}/members``); adds are ``how``
    (REF, BIND or SINGLE), removals ``DELETE {path}/{target}/$ref`` (``DELETE {path}/$ref`` for SINGLE)."""

    path: str
    how: str = REF
    doc: str = ""  # the Microsoft Learn page (under LEARN) of the add request


@dataclass(frozen=True)
class Writeback:
    """How objects of the type are written back: ``permission`` is the application permission a write needs
    (also named when Graph answers 403 to one); ``restore`` says the restore feature writes the type back, so
    its permission is among the restore feature's.

    The restore planner (restore/plan.py) reads the rest: ``create_path`` (POST, a re-created object gets a
    new id), ``item_path`` (PATCH and DELETE of one object, ``{id}``), ``read_only`` (Graph sets them),
    ``synced`` (owned by Entra Connect when ``onPremisesSyncEnabled``), ``not_restorable`` (attribute -> why),
    ``create_only`` (written when re-creating, never patched), ``references`` (attribute -> the relation-like
    lists of object ids inside the object, remapped when their targets are re-created) and ``links`` (relation
    kind -> LinkWrite). Every other property the type's ``$select`` reads is writable."""

    permission: str | None = None
    restore: bool = False
    create_path: str | None = None
    item_path: str | None = None
    read_only: frozenset[str] = frozenset()
    synced: frozenset[str] = frozenset()
    not_restorable: dict[str, str] = field(default_factory=dict)
    create_only: frozenset[str] = frozenset()
    references: tuple[str, ...] = ()  # dotted paths of id lists inside the object (CA include/exclude lists)
    links: dict[str, LinkWrite] = field(default_factory=dict)


COMMON_READ_ONLY = frozenset({"id", "createdDateTime", "deletedDateTime"})
ON_PREMISES_READ_ONLY = frozenset({
    "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "onPremisesNetBiosName", "securityIdentifier",
    "proxyAddresses", "serviceProvisioningErrors"})
# https://learn.microsoft.com/graph/api/resources/user (properties marked read-only) and user-update.
USER_WRITEBACK = Writeback(
    "User.ReadWrite.All", restore=True, create_path="/users", item_path="/users/{id}",
    read_only=COMMON_READ_ONLY | ON_PREMISES_READ_ONLY | {
        "creationType", "lastPasswordChangeDateTime", "signInSessionsValidFromDateTime",
        "refreshTokensValidFromDateTime", "assignedPlans", "provisionedPlans", "licenseAssignmentStates",
        "signInActivity", "externalUserState", "externalUserStateChangeDateTime", "legalAgeGroupClassification",
        "imAddresses", "identityParentId", "isManagementRestricted", "authorizationInfo", "print",
        "deviceEnrollmentLimit", "isResourceAccount"},
    synced=frozenset({
        "displayName", "givenName", "surname", "jobTitle", "department", "mail", "mailNickname",
        "userPrincipalName", "companyName", "officeLocation", "businessPhones", "mobilePhone", "city", "country",
        "state", "streetAddress", "postalCode", "employeeId", "onPremisesExtensionAttributes", "faxNumber",
        "accountEnabled", "otherMails", "onPremisesImmutableId", "employeeType", "employeeHireDate",
        "employeeOrgData", "employeeLeaveDateTime"}),
    not_restorable={
        "passwordProfile": "Graph never returns a password: a re-created user gets a new one",
        "assignedLicenses": "licences are assigned with assignLicense and depend on the subscriptions left",
        "identities": "set by Entra from the userPrincipalName for members",
        "customSecurityAttributes": "needs the attribute-assignment permission, outside the restore feature"},
    links={"manager": LinkWrite("/users/{id}/manager", SINGLE, "user-post-manager")})
# https://learn.microsoft.com/graph/api/resources/group and group-update.
GROUP_WRITEBACK = Writeback(
    "Group.ReadWrite.All", restore=True, create_path="/groups", item_path="/groups/{id}",
    read_only=COMMON_READ_ONLY | ON_PREMISES_READ_ONLY | {
        "renewedDateTime", "expirationDateTime", "mail", "assignedLicenses", "membershipRuleProcessingStatus",
        "hasMembersWithLicenseErrors", "licenseProcessingState", "onPremisesLastSyncDateTime"},
    synced=frozenset({"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled"}),
    create_only=frozenset({"isAssignableToRole", "mailEnabled", "securityEnabled"}),
    links={"group_member": LinkWrite("/groups/{id}/members", BIND, "group-post-members"),
           "group_owner": LinkWrite("/groups/{id}/owners", REF, "group-post-owners")})
APPLICATION_WRITEBACK = Writeback(
    "Application.ReadWrite.All", restore=True, create_path="/applications", item_path="/applications/{id}",
    read_only=COMMON_READ_ONLY | {"appId", "publisherDomain", "applicationTemplateId", "serviceManagementReference"},
    not_restorable={
        "passwordCredentials": "a secret is never returned by Graph; one added since is removed (removePassword), "
                               "one removed since must be created anew (addPassword)",
        "keyCredentials": "a certificate needs its proof of possession to be uploaded again"},
    links={"app_owner": LinkWrite("/applications/{id}/owners", REF, "application-post-owners")})
SERVICE_PRINCIPAL_WRITEBACK = Writeback(
    "Application.ReadWrite.All", restore=True, create_path="/servicePrincipals", item_path="/servicePrincipals/{id}",
    read_only=COMMON_READ_ONLY | {"appOwnerOrganizationId", "appDisplayName", "servicePrincipalNames",
                                  "servicePrincipalType", "signInAudience", "applicationTemplateId",
                                  "appRoles", "oauth2PermissionScopes", "publisherName", "verifiedPublisher",
                                  "info", "replyUrls", "alternativeNames"},
    not_restorable={"passwordCredentials": "a secret is never returned by Graph",
                    "keyCredentials": "a certificate needs its proof of possession to be uploaded again"},
    create_only=frozenset({"appId"}),
    links={"sp_owner": LinkWrite("/servicePrincipals/{id}/owners", REF, "serviceprincipal-post-owners")})
ADMINISTRATIVE_UNIT_WRITEBACK = Writeback(
    "AdministrativeUnit.ReadWrite.All", restore=True, create_path="/directory/administrativeUnits",
    item_path="/directory/administrativeUnits/{id}", read_only=COMMON_READ_ONLY,
    links={"au_member": LinkWrite("/directory/administrativeUnits/{id}/members", REF,
                                  "administrativeunit-post-members")})
CA_POLICY_WRITEBACK = Writeback(
    "Policy.ReadWrite.ConditionalAccess", restore=True, create_path="/identity/conditionalAccess/policies",
    item_path="/identity/conditionalAccess/policies/{id}",
    read_only=COMMON_READ_ONLY | {"modifiedDateTime", "templateId"},
    references=("conditions.users.includeUsers", "conditions.users.excludeUsers",
                "conditions.users.includeGroups", "conditions.users.excludeGroups",
                "conditions.locations.includeLocations", "conditions.locations.excludeLocations",
                "conditions.applications.includeApplications", "conditions.applications.excludeApplications"))
NAMED_LOCATION_WRITEBACK = Writeback(
    "Policy.ReadWrite.ConditionalAccess", restore=True, create_path="/identity/conditionalAccess/namedLocations",
    item_path="/identity/conditionalAccess/namedLocations/{id}",
    read_only=COMMON_READ_ONLY | {"modifiedDateTime"})


@dataclass(frozen=True)
class ObjectType:
    name: str  # the repository's object_type and the name in the pages, the API and the commands
    graph_type: str  # Graph's entity type: @odata.type is "#microsoft.graph.<graph_type>"
    path: str  # the documented collection (or singleton) path
    label: str  # shown in the pages ("Users")
    permission: str  # least privileged application permission that reads it
    doc: str  # the Microsoft Learn page of the API that lists it (under LEARN)
    read: str = LISTING
    delta_path: str | None = None  # the documented delta function, for read == DELTA
    delta_doc: str | None = None
    page_size: int | None = None  # $top of a collection read; None = let the server choose
    volatile: frozenset[str] = frozenset()  # change without anyone changing the object: not hashed
    relations: tuple[Relation, ...] = ()
    soft_deletable: bool = False  # listed in /directory/deletedItems/microsoft.graph.<graph_type>
    extension_target: str | None = None  # targetObjects value of directory extension properties
    feature: str = "directory_backup"  # the feature whose permissions include ``permission``
    display: str = "displayName"  # the property shown as the object's name (the repository's display_name)
    writeback: Writeback = field(default_factory=Writeback)

    @property
    def odata_type(self) -> str:
        return f"#microsoft.graph.{self.graph_type}"

    @property
    def deleted_path(self) -> str | None:
        """The recycle bin's listing of this type (directory-deleteditems-list)."""
        return f"/directory/deletedItems/microsoft.graph.{self.graph_type}" if self.soft_deletable else None


def _delta(name, graph_type, path, label, permission, **kw) -> ObjectType:
    """A type read by delta query: listed at ``path``, tracked at ``path``/delta unless documented otherwise."""
    kw.setdefault("delta_path", f"{path}/delta")
    return ObjectType(name, graph_type, path, label, permission, doc=f"{graph_type.lower()}-list", read=DELTA,
                      delta_doc=f"{graph_type.lower()}-delta", page_size=999, **kw)


SYNC_CYCLE = "onPremisesLastSyncDateTime"  # bumped by each Entra Connect sync cycle (every ~30 min)
OWNERS = "owners"

# Reading order: principals first, then what references them (assignments, roles, policies), so a restore
# point's references resolve within it.
TYPES: tuple[ObjectType, ...] = (
    _delta("user", "user", "/users", "Users", "User.Read.All", extension_target="User",
           soft_deletable=True,
           relations=(Relation("manager", "manager", FROM_DELTA, single_valued=True),),
           volatile=frozenset({
               "signInActivity",                    # updated by every sign-in, not by an administrator
               SYNC_CYCLE,
               "refreshTokensValidFromDateTime",    # moves when sessions are revoked or a password changes:
               "signInSessionsValidFromDateTime",   # security events, not directory state one restores
           }),
           writeback=USER_WRITEBACK),
    _delta("group", "group", "/groups", "Groups", "Group.Read.All", extension_target="Group",
           soft_deletable=True,  # only Microsoft 365 groups reach the recycle bin
           relations=(Relation("group_member", "members", FROM_DELTA), Relation("group_owner", OWNERS, FROM_OWNERS)),
           volatile=frozenset({SYNC_CYCLE,
                               "renewedDateTime"}),  # the Microsoft 365 group expiry policy renews on activity
           writeback=GROUP_WRITEBACK),
    _delta("application", "application", "/applications", "App registrations", "Application.Read.All",
           extension_target="Application", soft_deletable=True,
           relations=(Relation("app_owner", OWNERS, FROM_OWNERS),),
           writeback=APPLICATION_WRITEBACK),
    _delta("servicePrincipal", "servicePrincipal", "/servicePrincipals", "Enterprise applications",
           "Application.Read.All", soft_deletable=True, relations=(Relation("sp_owner", OWNERS, FROM_OWNERS),),
           writeback=SERVICE_PRINCIPAL_WRITEBACK),
    # Read from the resource side, expanded from the service principal listing (jobs/backup/listings.py).
    ObjectType("appRoleAssignment", "appRoleAssignment", "/servicePrincipals/{id}/appRoleAssignedTo",
               "App role assignments", "Application.Read.All", doc="serviceprincipal-list-approleassignedto",
               read=SPECIAL, page_size=999,
               writeback=Writeback("AppRoleAssignment.ReadWrite.All", restore=True,
                                   create_path="/servicePrincipals/{resourceId}/appRoleAssignedTo",
                                   item_path="/servicePrincipals/{resourceId}/appRoleAssignedTo/{id}",
                                   read_only=COMMON_READ_ONLY | {"principalDisplayName", "principalType",
                                                                 "resourceDisplayName"},
                                   references=("principalId", "resourceId"))),
    # DelegatedPermissionGrant.Read.All is the least privileged; Directory.Read.All, which a backup needs
    # anyway (deleted items, extension properties), also grants it.
    ObjectType("oauth2PermissionGrant", "oAuth2PermissionGrant", "/oauth2PermissionGrants",
               "Delegated permission grants", "Directory.Read.All", doc="oauth2permissiongrant-list",
               writeback=Writeback("DelegatedPermissionGrant.ReadWrite.All", restore=True,
                                   create_path="/oauth2PermissionGrants", item_path="/oauth2PermissionGrants/{id}",
                                   read_only=COMMON_READ_ONLY, create_only=frozenset({"clientId", "consentType",
                                                                                      "principalId", "resourceId"}),
                                   references=("clientId", "resourceId", "principalId"))),
    # Neither directoryRoles nor their members page (directoryrole-list-members).
    ObjectType("directoryRole", "directoryRole", "/directoryRoles", "Directory roles",
               "RoleManagement.Read.Directory", doc="directoryrole-list",
               relations=(Relation("directory_role_member", "members", FROM_LISTING),),
               writeback=Writeback("RoleManagement.ReadWrite.Directory", restore=True, links={
                   "directory_role_member": LinkWrite("/directoryRoles/{id}/members", REF,
                                                      "directoryrole-post-members")})),
    ObjectType("roleDefinition", "unifiedRoleDefinition", "/roleManagement/directory/roleDefinitions",
               "Role definitions", "RoleManagement.Read.Directory", doc="rbacapplication-list-roledefinitions",
               writeback=Writeback("RoleManagement.ReadWrite.Directory", restore=True,
                                   create_path="/roleManagement/directory/roleDefinitions",
                                   item_path="/roleManagement/directory/roleDefinitions/{id}",
                                   read_only=COMMON_READ_ONLY | {"isBuiltIn", "templateId",
                                                                 "inheritsPermissionsFrom"})),
    ObjectType("roleAssignment", "unifiedRoleAssignment", "/roleManagement/directory/roleAssignments",
               "Role assignments", "RoleManagement.Read.Directory", doc="rbacapplication-list-roleassignments",
               writeback=Writeback("RoleManagement.ReadWrite.Directory", restore=True,
                                   create_path="/roleManagement/directory/roleAssignments",
                                   item_path="/roleManagement/directory/roleAssignments/{id}",
                                   read_only=COMMON_READ_ONLY,
                                   create_only=frozenset({"principalId", "roleDefinitionId", "directoryScopeId",
                                                          "appScopeId", "condition"}),
                                   references=("principalId",))),
    # Listed at /directory/administrativeUnits (directory-list-administrativeunits), tracked at
    # /administrativeUnits/delta (administrativeunit-delta): two documented paths.
    _delta("administrativeUnit", "administrativeUnit", "/directory/administrativeUnits", "Administrative units",
           "AdministrativeUnit.Read.All", delta_path="/administrativeUnits/delta", soft_deletable=True,
           relations=(Relation("au_member", "members", FROM_DELTA),),
           writeback=ADMINISTRATIVE_UNIT_WRITEBACK),
    # Conditional Access is throttled to 1 request/s per tenant: the largest page the list APIs document,
    # so a tenant's policies come in one request.
    ObjectType("conditionalAccessPolicy", "conditionalAccessPolicy", "/identity/conditionalAccess/policies",
               "Conditional Access policies", "Policy.Read.All", doc="conditionalaccessroot-list-policies",
               page_size=999, feature="conditional_access",
               writeback=CA_POLICY_WRITEBACK),
    ObjectType("namedLocation", "namedLocation", "/identity/conditionalAccess/namedLocations", "Named locations",
               "Policy.Read.All", doc="conditionalaccessroot-list-namedlocations", page_size=999,
               feature="conditional_access",
               writeback=NAMED_LOCATION_WRITEBACK),
    # One object holding its method configurations; the API documents no query options.
    ObjectType("authenticationMethodsPolicy", "authenticationMethodsPolicy", "/policies/authenticationMethodsPolicy",
               "Authentication methods policy", "Policy.Read.All", doc="authenticationmethodspolicy-get",
               read=SINGLETON, writeback=Writeback("Policy.ReadWrite.AuthenticationMethod")),
    _delta("device", "device", "/devices", "Devices", "Device.Read.All", extension_target="Device",
           volatile=frozenset({"approximateLastSignInDateTime",  # updated as the device signs in
                               SYNC_CYCLE}),
           writeback=Writeback("Device.ReadWrite.All")),
    _delta("orgContact", "orgContact", "/contacts", "Organizational contacts", "OrgContact.Read.All",
           volatile=frozenset({SYNC_CYCLE}), writeback=Writeback("Directory.ReadWrite.All")),
    ObjectType("domain", "domain", "/domains", "Domains", "Domain.Read.All", doc="domain-list",
               writeback=Writeback("Domain.ReadWrite.All")),
    ObjectType("organization", "organization", "/organization", "Organization", "Organization.Read.All",
               doc="organization-list", volatile=frozenset({SYNC_CYCLE}),  # the tenant-wide last sync time
               writeback=Writeback("Organization.ReadWrite.All")),
)

# The properties the repository indexes for search, in its column order (display_name, upn, mail, app_id).
SEARCH_FIELDS = ("displayName", "userPrincipalName", "mail", "appId")

BY_NAME: dict[str, ObjectType] = {t.name: t for t in TYPES}
NAMES: list[str] = [t.name for t in TYPES]
LABELS: dict[str, str] = {t.name: t.label for t in TYPES}
RELATIONS: dict[str, tuple[ObjectType, Relation]] = {r.kind: (t, r) for t in TYPES for r in t.relations}

# The order people look for types in (identities, applications, roles, policies, the tenant itself); TYPES
# is in reading order, which follows the dependencies between types instead.
DISPLAY_ORDER: tuple[str, ...] = (
    "user", "group", "device", "orgContact", "application", "servicePrincipal", "appRoleAssignment",
    "oauth2PermissionGrant", "directoryRole", "roleDefinition", "roleAssignment", "administrativeUnit",
    "conditionalAccessPolicy", "namedLocation", "authenticationMethodsPolicy", "domain", "organization",
)
assert sorted(DISPLAY_ORDER) == sorted(NAMES), "DISPLAY_ORDER must name every type once"


def display_sorted(names) -> list[str]:
    """Type names in DISPLAY_ORDER; names the registry does not know (older backups) last, alphabetically."""
    rank = {name: i for i, name in enumerate(DISPLAY_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def label(name: str) -> str:
    """The type's label ("Enterprise applications"); an unknown name as it is."""
    return LABELS.get(name, name)


def get(name: str) -> ObjectType:
    """The type named ``name``; ValueError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"Unknown object type {name!r}; known: {', '.join(NAMES)}") from None


def by_graph_type(graph_type: str) -> ObjectType | None:
    """'#microsoft.graph.user', 'microsoft.graph.user' or 'user' -> the user type."""
    bare = graph_type.removeprefix("#").removeprefix("microsoft.graph.")
    return next((t for t in TYPES if t.graph_type == bare), None)


def names_for_feature(feature: str) -> set[str]:
    return {t.name for t in TYPES if t.feature == feature}


def read_permissions(feature: str) -> list[str]:
    """The permissions reading the feature's types needs, in reading order, each once."""
    return list(dict.fromkeys(t.permission for t in TYPES if t.feature == feature))


def restore_permissions() -> list[str]:
    """The permissions the restore feature needs to write its types back."""
    return list(dict.fromkeys(t.writeback.permission for t in TYPES if t.writeback.restore))


# Requests that belong to no object type: where they are made, and the Microsoft Learn page of each.
FIXED_REQUESTS: dict[str, str] = {
    "POST /$batch": "json-batching (up to 20 GET sub-requests per POST; entrabackup/graph/batch.py)",
    "POST /directoryObjects/getAvailableExtensionProperties":
        "directoryobject-getavailableextensionproperties (directory extension properties, jobs/backup)",
    "GET /organization": "organization-list (tenant connection test, tenants/services.py)",
    "GET /auditLogs/signIns": "signin-list (sign-in log licence check, tenants/services.py)",
}


def _type_requests(t: ObjectType) -> list[str]:
    """What the collectors request for one type (jobs/backup): {id} stands for an object id."""
    if t.read == SPECIAL:  # app role assignments: expanded from the service principal listing, or read per one
        return [f"GET {BY_NAME['servicePrincipal'].path}", f"GET {t.path}"]
    paths = [t.delta_path] if t.read == DELTA else [t.path]
    for relation in t.relations:
        if relation.read == FROM_OWNERS:  # the collection with $expand=owners, then /owners of some objects
            paths += [t.path, f"{t.path}/{{id}}/{relation.navigation}"]
        elif relation.read == FROM_LISTING:
            paths.append(f"{t.path}/{{id}}/{relation.navigation}")
    if t.deleted_path:
        paths.append(t.deleted_path)
    return [f"GET {path}" for path in paths]


def request_paths() -> list[str]:
    """Every request the product's Graph client makes, as "METHOD /path" relative to the version root
    (/v1.0), sorted; each is documented on Microsoft Learn (docs/graph-paths.md lists the pages)."""
    return sorted({*FIXED_REQUESTS, *(request for t in TYPES for request in _type_requests(t))})
