"""Users and the manager hierarchy."""

from __future__ import annotations

import base64

from graph_emulator.common import iso
from graph_emulator.generator.common import guid, past, sid, sub_rng
from graph_emulator.generator.names import DEPARTMENTS, GIVEN, HOSTILE_USER_NAME, OFFICES, SURNAMES

SKUS = {"E3": "6fd2c87f-b296-42f0-b197-1e91e994b900", "E5": "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        "P1": "078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "P2": "84a661c4-e949-4bd2-a560-ed7766fcaf2b"}
PLANS = [("exchange", "efb87545-963c-4e0d-99df-69c6916d9eb0"), ("MicrosoftOffice", "43de0ff5-c92c-492b-9116-175376d08c38"),
         ("AADPremiumService", "41781fb2-bc02-4b7c-bd55-b576c07bb09d")]
DEPT_NAMES = list(DEPARTMENTS)
HOSTILE_USER = 4  # a cloud-only member in every tenant (the first three of each ten are synced)


def _names(rng, n_users: int):
    """Unique (given, surname, alias) triples; aliases get a number once combinations run out."""
    seen: dict[str, int] = {}
    for _ in range(n_users):
        g, s = rng.choice(GIVEN), rng.choice(SURNAMES)
        base = f"{g}.{s}".lower()
        k = seen.get(base, 0)
        seen[base] = k + 1
        yield g, s, base if k == 0 else f"{base}{k}"


def make_user(rng, i: int, given: str, surname: str, alias: str, meta: dict) -> dict:
    """One member user with everything a real tenant carries (sparse: unset properties omitted)."""
    domain, created = meta["domain"], meta["created_at"]
    dept = DEPT_NAMES[i % len(DEPT_NAMES)] if i else "IT"
    city, state, cc, country, postal, street, phone = OFFICES[rng.randrange(len(OFFICES))]
    upn = f"{alias}@{domain}"
    u = {
        "id": guid(rng), "accountEnabled": rng.random() > 0.03, "displayName": f"{given} {surname}",
        "givenName": given, "surname": surname, "userPrincipalName": upn, "mail": upn, "mailNickname": alias,
        "jobTitle": rng.choice(DEPARTMENTS[dept]), "department": dept, "companyName": meta["name"],
        "officeLocation": f"{city}/{rng.randrange(1, 40)}{rng.choice('ABCD')}-{rng.randrange(100, 999)}",
        "businessPhones": [f"{phone} {rng.randrange(1000, 9999)}"], "mobilePhone": f"{phone.rsplit(' ', 1)[0]} {rng.randrange(10**6, 10**7)}",
        "preferredLanguage": "en-US", "usageLocation": cc, "city": city, "state": state, "country": country,
        "postalCode": postal, "streetAddress": street, "userType": "Member",
        "createdDateTime": past(rng, created, 2000, 30), "employeeId": f"{100000 + i}",
        "employeeType": rng.choice(("Employee", "Employee", "Employee", "Contractor")),
        "employeeHireDate": past(rng, created, 3000, 30), "employeeOrgData": {"division": dept, "costCenter": f"CC-{1000 + i % 97}"},
        "identities": [{"signInType": "userPrincipalName", "issuer": meta["initial_domain"], "issuerAssignedId": upn}],
        "proxyAddresses": [f"SMTP:{upn}", f"smtp:{alias}@{meta['initial_domain']}"], "otherMails": [], "imAddresses": [upn],
        "assignedLicenses": [{"disabledPlans": [], "skuId": SKUS["E5" if i % 5 == 0 else "E3"]}],
        "assignedPlans": [{"assignedDateTime": past(rng, created, 900, 30), "capabilityStatus": "Enabled", "service": s,
                           "servicePlanId": p} for s, p in PLANS],
        "securityIdentifier": sid(rng, "S-1-12-1"), "lastPasswordChangeDateTime": past(rng, created, 90),
        "signInSessionsValidFromDateTime": past(rng, created, 90), "passwordPolicies": "None",
        "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)},
        "ageGroup": None, "showInAddressList": None,
    }
    u["onPremisesExtensionAttributes"]["extensionAttribute1"] = f"BU-{dept[:3].upper()}"
    if meta.get("licence", "P2") != "free":
        u["signInActivity"] = {"lastSignInDateTime": past(rng, created, 20), "lastSignInRequestId": guid(rng),
                               "lastNonInteractiveSignInDateTime": past(rng, created, 5),
                               "lastNonInteractiveSignInRequestId": guid(rng),
                               "lastSuccessfulSignInDateTime": past(rng, created, 20),
                               "lastSuccessfulSignInRequestId": guid(rng)}
    if i % 10 < 3:  # a synced subset from on-premises AD (https://learn.microsoft.com/graph/api/user-update synced-object rules)
        sync_user(rng, u, alias, meta)
    if i % 7 == 0:  # a directory extension registered by an HR app (returned only on $select, https://learn.microsoft.com/graph/extensibility-overview)
        u[meta["extension_prop"]] = f"HR-{i:06d}"
    return u


def sync_user(rng, u: dict, alias: str, meta: dict) -> None:
    netbios = meta["domain"].split(".")[0].upper()
    u.update({
        "onPremisesSyncEnabled": True, "onPremisesImmutableId": base64.b64encode(rng.randbytes(16)).decode(),
        "onPremisesSamAccountName": alias[:20], "onPremisesSecurityIdentifier": sid(rng),
        "onPremisesDomainName": f"corp.{meta['domain']}", "onPremisesUserPrincipalName": f"{alias}@corp.{meta['domain']}",
        "onPremisesDistinguishedName": f"CN={u['displayName']},OU=Users,OU={netbios},DC=corp,DC={netbios.lower()}",
        "onPremisesLastSyncDateTime": iso(meta["created_at"] - rng.uniform(60, 1800)),
        "onPremisesProvisioningErrors": [],
    })


def make_guest(rng, i: int, meta: dict) -> dict:
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    ext = f"{given}.{surname}{i}".lower()
    mail = f"{ext}@partner{i % 13}.example"
    upn = f"{mail.replace('@', '_')}#EXT#@{meta['initial_domain']}"
    return {"id": guid(rng), "accountEnabled": True, "displayName": f"{given} {surname} (Partner)", "givenName": given,
            "surname": surname, "userPrincipalName": upn, "mail": mail, "mailNickname": mail.replace("@", "_") + "#EXT#",
            "userType": "Guest", "externalUserState": "Accepted", "creationType": "Invitation",
            "externalUserStateChangeDateTime": past(rng, meta["created_at"], 400, 1), "businessPhones": [],
            "createdDateTime": past(rng, meta["created_at"], 400, 1), "otherMails": [mail], "imAddresses": [],
            "identities": [{"signInType": "federated", "issuer": "ExternalAzureAD", "issuerAssignedId": None}],
            "proxyAddresses": [f"SMTP:{mail}"], "assignedLicenses": [], "assignedPlans": [],
            "securityIdentifier": sid(rng, "S-1-12-1"), "preferredLanguage": None,
            "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)}}


def generate_users(tenant) -> list[dict]:
    """Members (about 95 %) plus guests; managers form a tree of span 8 among members."""
    meta = tenant.meta
    rng = sub_rng(meta["seed"], "users")
    n = meta["users"]
    n_guests = n // 20
    users = [make_user(rng, i, g, s, a, meta) for i, (g, s, a) in enumerate(_names(rng, n - n_guests))]
    users[HOSTILE_USER]["displayName"] = HOSTILE_USER_NAME  # after the draws: nothing else shifts
    users += [make_guest(rng, i, meta) for i in range(n_guests)]
    members = [u for u in users if u["userType"] == "Member"]
    for i in range(1, len(members)):
        tenant.managers[members[i]["id"]] = members[(i - 1) // 8]["id"]
    return users
