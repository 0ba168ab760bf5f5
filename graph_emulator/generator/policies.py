"""Conditional Access policies, named locations and the authentication methods policy."""

from __future__ import annotations

from graph_emulator.generator.common import guid, past, sub_rng
from graph_emulator.generator.roles import BUILTIN_ROLES
from graph_emulator.permissions import GRAPH_APP_ID

COUNTRIES = [["RU", "KP"], ["IR", "SY"], ["US", "CA"], ["GB", "IE"], ["DE", "FR", "NL"]]


def named_location(rng, i: int, created: float) -> dict:
    base = {"id": guid(rng), "createdDateTime": past(rng, created, 800, 30), "modifiedDateTime": past(rng, created, 30)}
    if i % 2 == 0:
        return {"@odata.type": "#microsoft.graph.ipNamedLocation", **base, "displayName": f"Office network {i}",
                "isTrusted": i % 4 == 0, "ipRanges": [
                    {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": f"203.0.{113 + i % 10}.0/24"},
                    {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": f"2001:db8:{i:x}::/48"}]}
    return {"@odata.type": "#microsoft.graph.countryNamedLocation", **base, "displayName": f"Countries {i}",
            "countriesAndRegions": COUNTRIES[i % len(COUNTRIES)], "includeUnknownCountriesAndRegions": False,
            "countryLookupMethod": "clientIpAddress"}


def _conditions(users: dict, apps: list[str], **extra) -> dict:
    cond = {"userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"], "platforms": None,
            "locations": None, "devices": None, "clientApplications": None, "servicePrincipalRiskLevels": [],
            "applications": {"includeApplications": apps, "excludeApplications": [], "includeUserActions": [],
                             "includeAuthenticationContextClassReferences": [], "applicationFilter": None},
            "users": {"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                      "includeRoles": [], "excludeRoles": [], "includeGuestsOrExternalUsers": None,
                      "excludeGuestsOrExternalUsers": None, **users}}
    cond.update(extra)
    return cond


def _grant(*controls: str, operator: str = "OR") -> dict:
    return {"operator": operator, "builtInControls": list(controls), "customAuthenticationFactors": [],
            "termsOfUse": []}


def ca_policy(rng, i: int, ctx: dict) -> dict:
    """Policy i from a rotation of the patterns real tenants run; references groups/users/locations/apps."""
    breakglass, group, loc, created = ctx["breakglass"], ctx["group"], ctx["location"], ctx["created"]
    admin_roles = [t for _, t in BUILTIN_ROLES[:5]]
    patterns = [
        ("Require MFA for administrators", _conditions({"includeRoles": admin_roles, "excludeUsers": [breakglass]}, ["All"]),
         _grant("mfa"), None),
        ("Block legacy authentication", _conditions({"includeUsers": ["All"], "excludeUsers": [breakglass]}, ["All"],
                                                    clientAppTypes=["exchangeActiveSync", "other"]), _grant("block"), None),
        ("Require MFA for all users", _conditions({"includeUsers": ["All"], "excludeGroups": [group]}, ["All"]),
         _grant("mfa"), None),
        ("Block access from restricted countries", _conditions(
            {"includeUsers": ["All"], "excludeUsers": [breakglass]}, ["All"],
            locations={"includeLocations": [loc], "excludeLocations": ["AllTrusted"]}), _grant("block"), None),
        ("Require compliant device for Office 365", _conditions({"includeGroups": [group]}, ["Office365"],
         platforms={"includePlatforms": ["windows", "macOS"], "excludePlatforms": []}),
         _grant("compliantDevice", "domainJoinedDevice"), None),
        ("High sign-in risk requires MFA", _conditions({"includeUsers": ["All"]}, ["All"], signInRiskLevels=["high"]),
         _grant("mfa"), {"signInFrequency": {"value": 1, "type": "hours", "isEnabled": True,
                                               "authenticationType": "primaryAndSecondaryAuthentication",
                                               "frequencyInterval": "timeBased"},
                         "applicationEnforcedRestrictions": None, "cloudAppSecurity": None,
                         "persistentBrowser": None, "disableResilienceDefaults": None}),
        ("Graph API access from trusted locations", _conditions({"includeUsers": ["All"]}, [GRAPH_APP_ID],
         locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}), _grant("mfa"), None),
    ]
    name, cond, grant, session = patterns[i % len(patterns)]
    return {"id": guid(rng), "templateId": None, "displayName": name if i < len(patterns) else f"{name} ({i})",
            "description": None, "createdDateTime": past(rng, created, 700, 30), "modifiedDateTime": past(rng, created, 30),
            "state": ("enabled", "enabledForReportingButNotEnforced", "disabled")[i % 3],
            "conditions": cond, "grantControls": grant, "sessionControls": session}


def auth_methods_policy(meta: dict) -> dict:
    targets = [{"targetType": "group", "id": "all_users", "isRegistrationRequired": False}]
    return {"id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy",
            "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, "
            "authentication method registration requirements, and self-service password reset settings",
            "lastModifiedDateTime": meta["created_iso"], "policyVersion": "1.5", "reconfirmationInDays": None,
            "policyMigrationState": "migrationInProgress",
            "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1, "state": "default", "excludeTargets": [], "includeTargets": [
                    {"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]}},
            "authenticationMethodConfigurations": [
                {"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "id": "Fido2", "state": "enabled",
                 "isSelfServiceRegistrationAllowed": True, "isAttestationEnforced": True,
                 "keyRestrictions": {"isEnforced": False, "enforcementType": "block", "aaGuids": []},
                 "includeTargets": targets, "excludeTargets": []},
                {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
                 "id": "MicrosoftAuthenticator", "state": "enabled", "excludeTargets": [],
                 "includeTargets": [dict(targets[0], authenticationMode="any")]},
                {"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "id": "Sms", "state": "disabled",
                 "excludeTargets": [], "includeTargets": [dict(targets[0], isUsableForSignIn=True)]},
                {"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                 "id": "TemporaryAccessPass", "state": "enabled", "defaultLifetimeInMinutes": 60, "defaultLength": 8,
                 "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480, "isUsableOnce": False,
                 "includeTargets": targets, "excludeTargets": []},
                {"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "id": "Email",
                 "state": "enabled", "allowExternalIdToUseEmailOtp": "default", "includeTargets": [], "excludeTargets": []},
            ]}


def generate_policies(tenant, users: list[dict], groups: list[dict]) -> None:
    meta = tenant.meta
    rng = sub_rng(meta["seed"], "policies")
    created = meta["created_at"]
    locs = [named_location(rng, i, created) for i in range(2 + len(users) // 20000 + 2)]
    for loc in locs:
        tenant.objs["namedLocations"][loc["id"]] = loc
    ctx = {"breakglass": users[0]["id"], "group": groups[min(len(groups) - 1, 1)]["id"],
           "location": next(x["id"] for x in locs if "country" in x["@odata.type"].lower()), "created": created}
    for i in range(min(100, len(users) // 1000 + 5)):
        p = ca_policy(rng, i, ctx)
        tenant.objs["conditionalAccessPolicies"][p["id"]] = p
    tenant.auth_policy = auth_methods_policy(meta)
