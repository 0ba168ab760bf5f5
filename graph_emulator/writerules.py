"""Validation rules for writes: required / read-only properties, on-premises mastered properties of
synced objects, members@odata.bind limits, CA policy shape (https://learn.microsoft.com/graph/api/user-post-users, https://learn.microsoft.com/graph/api/group-post-members, https://learn.microsoft.com/graph/api/conditionalaccessroot-post-policies)."""

from __future__ import annotations

import random
import uuid

from graph_emulator import views
from graph_emulator.common import GraphError, bad_request, iso
from graph_emulator.generator.common import guid, sid

AUDIT_TYPE = {"users": "User", "groups": "Group", "applications": "Application", "servicePrincipals": "ServicePrincipal",
              "administrativeUnits": "AdministrativeUnit", "conditionalAccessPolicies": "Policy",
              "namedLocations": "Policy", "devices": "Device", "directoryRoles": "Role"}
COMMON_READ_ONLY = {"id", "createdDateTime", "deletedDateTime", "modifiedDateTime"}
READ_ONLY = {
    "users": COMMON_READ_ONLY | {"creationType", "lastPasswordChangeDateTime", "onPremisesDistinguishedName",
                                 "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesProvisioningErrors",
                                 "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
                                 "onPremisesUserPrincipalName", "proxyAddresses", "securityIdentifier",
                                 "signInSessionsValidFromDateTime", "assignedPlans", "provisionedPlans",
                                 "licenseAssignmentStates", "signInActivity", "externalUserState",
                                 "externalUserStateChangeDateTime", "legalAgeGroupClassification", "imAddresses",
                                 "assignedLicenses", "identityParentId"},
    "groups": COMMON_READ_ONLY | {"securityIdentifier", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime",
                                  "onPremisesSecurityIdentifier", "onPremisesSamAccountName", "onPremisesDomainName",
                                  "onPremisesNetBiosName", "onPremisesProvisioningErrors", "proxyAddresses",
                                  "renewedDateTime", "expirationDateTime", "mail", "assignedLicenses"},
    "applications": COMMON_READ_ONLY | {"appId", "publisherDomain", "passwordCredentials"},
    "servicePrincipals": COMMON_READ_ONLY | {"appId", "appOwnerOrganizationId", "passwordCredentials"},
}
# Properties mastered on-premises for synced objects (cloud updates rejected, https://learn.microsoft.com/graph/api/user-post-users).
ON_PREM_MASTERED = {
    "users": {"displayName", "givenName", "surname", "jobTitle", "department", "mail", "mailNickname",
              "userPrincipalName", "companyName", "officeLocation", "businessPhones", "mobilePhone", "city",
              "country", "state", "streetAddress", "postalCode", "employeeId", "onPremisesExtensionAttributes",
              "faxNumber", "accountEnabled", "otherMails", "onPremisesImmutableId", "employeeType",
              "employeeHireDate", "employeeOrgData"},
    "groups": {"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "members"},
}
REQUIRED = {"users": ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"),
            "groups": ("displayName", "mailEnabled", "mailNickname", "securityEnabled"),
            "applications": ("displayName",), "servicePrincipals": ("appId",),
            "administrativeUnits": ("displayName",), "namedLocations": ("@odata.type", "displayName"),
            "conditionalAccessPolicies": ("displayName", "state", "conditions")}
CREATABLE = set(REQUIRED)


def members_binds(data: dict) -> list[tuple[str, list[str]]]:
    """members@odata.bind / owners@odata.bind -> [(relation, ids)], max 20 per request (https://learn.microsoft.com/graph/api/group-post-members)."""
    out = []
    for key, rel in (("members@odata.bind", "group_members"), ("owners@odata.bind", "group_owners")):
        refs = data.pop(key, None)
        if refs is None:
            continue
        if len(refs) > 20:
            raise bad_request("The maximum number of members that can be added in a single request is 20.")
        out.append((rel, [str(r).rstrip("/").split("/")[-1] for r in refs]))
    return out


def _type_name(kind: str) -> str:
    return views.KINDS[kind].type[0].upper() + views.KINDS[kind].type[1:]


def check_create(tenant, kind: str, data: dict) -> None:
    if kind not in CREATABLE:
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    for prop in REQUIRED[kind]:
        if data.get(prop) in (None, ""):
            raise bad_request(f"Invalid value specified for property '{prop}' of resource '{_type_name(kind)}'.")
    for prop in data:
        if prop in READ_ONLY.get(kind, COMMON_READ_ONLY):
            raise bad_request(f"Property '{prop}' is read-only and cannot be set.")
    if kind == "users":
        _check_new_user(tenant, data)
    if kind == "conditionalAccessPolicies":
        check_ca_policy(data)
        check_ca_references(tenant, data)
    if kind == "namedLocations":
        check_named_location(data)
    if kind == "groups" and data.get("mailEnabled") and "Unified" not in (data.get("groupTypes") or []):
        raise bad_request("Cannot Create a mail-enabled security groups and or distribution list.")


def password_complex(password: str) -> bool:
    """Entra's cloud password rule: 8 to 256 characters from at least three of lower case, upper case, digits and
    symbols (https://learn.microsoft.com/entra/identity/authentication/concept-password-ban-bad-combined-policy)."""
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    return 8 <= len(password) <= 256 and sum(classes) >= 3


def _check_password(profile) -> None:
    if not isinstance(profile, dict) or not profile.get("password"):
        raise bad_request("Invalid value specified for property 'passwordProfile' of resource 'User'.")
    if not password_complex(str(profile["password"])):
        raise bad_request("The specified password does not comply with password complexity requirements. Please "
                          "provide a different password.")


# A named location is an IP range list or a country list (https://learn.microsoft.com/graph/api/resources/ipnamedlocation,
# https://learn.microsoft.com/graph/api/resources/countrynamedlocation).
NAMED_LOCATION_NEEDS = {"#microsoft.graph.ipNamedLocation": "ipRanges",
                        "#microsoft.graph.countryNamedLocation": "countriesAndRegions"}


def check_named_location(data: dict) -> None:
    needed = NAMED_LOCATION_NEEDS.get(data.get("@odata.type"))
    if needed is None:
        raise bad_request("Invalid value specified for property '@odata.type' of resource 'NamedLocation'.",
                          "BadRequest")
    if not data.get(needed):
        raise bad_request(f"Invalid value specified for property '{needed}' of resource 'NamedLocation'.",
                          "BadRequest")


def _check_new_user(tenant, data: dict) -> None:
    _check_password(data.get("passwordProfile"))
    upn = str(data["userPrincipalName"]).lower()
    domain = upn.rpartition("@")[2]
    if domain not in {d.lower() for d in tenant.objs["domains"]}:
        raise bad_request("Property userPrincipalName is invalid.")
    if any(u.get("userPrincipalName", "").lower() == upn for u in tenant.objs["users"].values()):
        raise bad_request("Another object with the same value for property userPrincipalName already exists.",
                          "Request_BadRequest")


def check_ca_policy(data: dict) -> None:
    if data.get("state") not in ("enabled", "disabled", "enabledForReportingButNotEnforced"):
        raise bad_request("Invalid value specified for property 'state' of resource 'ConditionalAccessPolicy'.",
                          "BadRequest")
    cond = data.get("conditions") or {}
    apps = (cond.get("applications") or {})
    users = (cond.get("users") or {})
    if not (apps.get("includeApplications") or apps.get("includeUserActions")
            or apps.get("includeAuthenticationContextClassReferences")):
        raise bad_request("Conditional Access policy requires an application condition (includeApplications).",
                          "BadRequest")
    if not any(users.get(k) for k in ("includeUsers", "includeGroups", "includeRoles", "includeGuestsOrExternalUsers")):
        raise bad_request("Conditional Access policy requires a user condition (includeUsers).", "BadRequest")
    if not data.get("grantControls") and not data.get("sessionControls"):
        raise bad_request("Conditional Access policy requires grant controls or session controls.", "BadRequest")


# Values Conditional Access accepts besides object ids (https://learn.microsoft.com/graph/api/resources/conditionalaccessusers,
# https://learn.microsoft.com/graph/api/resources/conditionalaccesslocations).
CA_KEYWORDS = {"users": {"All", "None", "GuestsOrExternalUsers"}, "locations": {"All", "AllTrusted"}}
CA_REFERENCES = (("users", ("includeUsers", "excludeUsers"), "users", "user"),
                 ("users", ("includeGroups", "excludeGroups"), "groups", "group"),
                 ("users", ("includeRoles", "excludeRoles"), "roleDefinitions", "role"),
                 ("locations", ("includeLocations", "excludeLocations"), "namedLocations", "location"))


def check_ca_references(tenant, data: dict) -> None:
    """A policy naming a user, group, role or named location that does not exist is refused, as Entra does
    ("1054: Invalid group value: ..." for a group); a policy already holding the id of an object deleted since
    keeps it until its conditions are written again."""
    cond = data.get("conditions") or {}
    for section, keys, kind, noun in CA_REFERENCES:
        part = cond.get(section) or {}
        for key in keys:
            for value in part.get(key) or []:
                if value in CA_KEYWORDS[section] or value in tenant.objs[kind]:
                    continue
                # Only the group message is seen in public reports; the others follow its shape.
                prefix = "1054: " if noun == "group" else ""
                raise bad_request(f"{prefix}Invalid {noun} value: {value}.", "BadRequest")


CONDITION_LISTS = {"applications": ("includeApplications", "excludeApplications", "includeUserActions",
                                    "includeAuthenticationContextClassReferences"),
                   "users": ("includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles",
                             "excludeRoles")}
CONDITION_TOP = {"userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": [], "servicePrincipalRiskLevels": [],
                 "platforms": None, "locations": None, "devices": None, "clientApplications": None}


def full_ca_policy(data: dict) -> dict:
    """A policy as Graph stores and returns it: every condition list present ([] when not given), absent
    complex conditions null, grant controls with their empty lists (list-conditionalaccess-policies example)."""
    out = dict(data)
    if isinstance(data.get("conditions"), dict):
        cond = {**CONDITION_TOP, **data["conditions"]}
        for section, keys in CONDITION_LISTS.items():
            part = dict(cond.get(section) or {})
            cond[section] = {**{k: [] for k in keys}, **part}
        out["conditions"] = cond
    if isinstance(data.get("grantControls"), dict):
        out["grantControls"] = {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": [],
                                "termsOfUse": [], **data["grantControls"]}
    return out


def check_patch(kind: str, obj: dict, data: dict) -> None:
    ro = READ_ONLY.get(kind, COMMON_READ_ONLY)
    types = views.props_of(views.KINDS[kind].type)
    for prop in data:
        if prop in ro:
            raise bad_request(f"Property '{prop}' is read-only and cannot be set.")
        if prop not in types and not (kind == "users" and prop.startswith("extension_")) and "@" not in prop:
            raise bad_request(f"Invalid property '{prop}'.", "BadRequest")
    if kind == "conditionalAccessPolicies":
        check_ca_policy({**obj, **data})
    if kind == "users" and "passwordProfile" in data:
        _check_password(data["passwordProfile"])
    if kind == "namedLocations":
        check_named_location({**obj, **data})


def check_synced(kind: str, obj: dict, data: dict) -> None:
    if obj.get("onPremisesSyncEnabled") and set(data) & ON_PREM_MASTERED.get(kind, set()):
        raise bad_request("Unable to update the specified properties for on-premises mastered Directory Sync objects "
                          "or objects currently undergoing migration.")


def created_defaults(tenant, kind: str, data: dict) -> dict:
    """Server-owned properties a new object gets (id, createdDateTime, securityIdentifier, appId, ...)."""
    rng = random.Random(uuid.uuid4().int)
    now = iso(tenant.now())
    obj = {k: v for k, v in data.items() if k != "passwordProfile"}
    obj["id"] = guid(rng)
    if kind in ("users", "groups", "applications", "conditionalAccessPolicies", "namedLocations", "devices"):
        obj["createdDateTime"] = now
    if kind == "users":
        obj.update(securityIdentifier=sid(rng, "S-1-12-1"), lastPasswordChangeDateTime=now, creationType=None,
                   userType=data.get("userType", "Member"), proxyAddresses=[f"SMTP:{data['userPrincipalName']}"],
                   identities=[{"signInType": "userPrincipalName", "issuer": tenant.meta["initial_domain"],
                                "issuerAssignedId": data["userPrincipalName"]}])
        obj.setdefault("mail", None)
    elif kind == "groups":
        obj.update(securityIdentifier=sid(rng, "S-1-12-1"), renewedDateTime=now)
        if data.get("mailEnabled"):
            obj["mail"] = f"{data['mailNickname']}@{tenant.meta['domain']}"
            obj["proxyAddresses"] = [f"SMTP:{obj['mail']}"]
    elif kind == "applications":
        obj.setdefault("appId", guid(rng))
        obj.setdefault("signInAudience", "AzureADMyOrg")
        obj["publisherDomain"] = tenant.meta["domain"]
    elif kind == "servicePrincipals":
        app = next((a for a in tenant.objs["applications"].values() if a["appId"] == data["appId"]), None)
        if app is None:
            raise bad_request(f"The appId '{data['appId']}' of the service principal does not reference a valid "
                              "application object.")
        obj.update(displayName=app["displayName"], appDisplayName=app["displayName"], accountEnabled=True,
                   appOwnerOrganizationId=tenant.id, servicePrincipalNames=[app["appId"]],
                   servicePrincipalType="Application")
    elif kind in ("conditionalAccessPolicies", "namedLocations"):
        obj["modifiedDateTime"] = None
    if kind == "conditionalAccessPolicies":
        obj = full_ca_policy({"description": None, "sessionControls": None, "grantControls": None, **obj})
    return obj
