"""Devices, domains, the organization object and administrative units."""

from __future__ import annotations

import base64

from graph_emulator.generator.common import guid, past, sid, sub_rng
from graph_emulator.generator.names import OFFICES

OS = [("Windows", "10.0.22631.3296", "Microsoft Corporation", "Surface Laptop 5"),
      ("Windows", "10.0.19045.4170", "Dell Inc.", "Latitude 7440"),
      ("MacMDM", "14.4.1", "Apple", "MacBookPro18,3"), ("iOS", "17.4.1", "Apple", "iPhone 15"),
      ("Android", "14.0", "samsung", "SM-S918B")]


def make_device(rng, i: int, meta: dict) -> dict:
    os_name, ver, maker, model = OS[i % len(OS)]
    trust = ("AzureAd", "ServerAd", "Workplace")[i % 3]
    d = {"id": guid(rng), "deviceId": guid(rng), "displayName": f"{'DESKTOP' if os_name == 'Windows' else os_name.upper()}-{rng.getrandbits(28):07X}",
         "accountEnabled": True, "operatingSystem": os_name, "operatingSystemVersion": ver, "manufacturer": maker,
         "model": model, "trustType": trust, "isCompliant": i % 4 != 0, "isManaged": i % 5 != 0,
         "approximateLastSignInDateTime": past(rng, meta["created_at"], 30),
         "registrationDateTime": past(rng, meta["created_at"], 700, 30), "profileType": "RegisteredDevice",
         "alternativeSecurityIds": [{"type": 2, "identityProvider": None, "key": base64.b64encode(rng.randbytes(24)).decode()}],
         "physicalIds": [f"[USER-GID]:{guid(rng)}:{rng.getrandbits(40)}"], "systemLabels": [],
         "deviceOwnership": "Company" if trust != "Workplace" else "Personal", "deviceVersion": 2,
         "mdmAppId": "0000000a-0000-0000-c000-000000000000" if i % 5 != 0 else None, "managementType": None,
         "enrollmentType": None, "deviceCategory": None, "isRooted": None}
    if trust == "ServerAd":
        d.update(onPremisesSyncEnabled=True, onPremisesSecurityIdentifier=sid(rng),
                 onPremisesLastSyncDateTime=past(rng, meta["created_at"], 0.02))
    return d


def domains(meta: dict) -> list[dict]:
    common = {"authenticationType": "Managed", "availabilityStatus": None, "isAdminManaged": True, "isRoot": True,
              "isVerified": True, "passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
              "state": None, "manufacturer": None, "model": None}
    return [{"id": meta["domain"], **common, "isDefault": True, "isInitial": False,
             "supportedServices": ["Email", "OfficeCommunicationsOnline", "Intune"]},
            {"id": meta["initial_domain"], **common, "isDefault": False, "isInitial": True,
             "supportedServices": ["Email", "OfficeCommunicationsOnline"]}]


def organization(meta: dict) -> dict:
    city, state, cc, country, postal, street, phone = OFFICES[meta["seed"] % len(OFFICES)]
    plans = [{"assignedDateTime": meta["created_iso"], "capabilityStatus": "Enabled", "service": s, "servicePlanId": p}
             for s, p in (("exchange", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
                          ("AADPremiumService", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"))]
    return {"id": meta["tenant_id"], "displayName": meta["name"], "businessPhones": [f"{phone} 0100"], "city": city,
            "country": None, "countryLetterCode": cc, "state": state, "street": street, "postalCode": postal,
            "createdDateTime": meta["created_iso"], "defaultUsageLocation": None, "marketingNotificationEmails": [],
            "mobileDeviceManagementAuthority": "intune", "onPremisesLastSyncDateTime": meta["created_iso"],
            "onPremisesSyncEnabled": True, "partnerTenantType": None, "preferredLanguage": "en",
            "privacyProfile": {"contactEmail": f"privacy@{meta['domain']}", "statementUrl": f"https://{meta['domain']}/privacy"},
            "assignedPlans": plans if meta.get("licence") != "free" else [], "provisionedPlans": [],
            "securityComplianceNotificationMails": [], "securityComplianceNotificationPhones": [],
            "technicalNotificationMails": [f"it-admins@{meta['domain']}"], "tenantType": "AAD",
            "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": d["isDefault"],
                                 "isInitial": d["isInitial"], "name": d["id"], "type": "Managed"} for d in domains(meta)]}


def generate_misc(tenant, users: list[dict], groups: list[dict]) -> list[dict]:
    meta = tenant.meta
    rng = sub_rng(meta["seed"], "misc")
    for i in range(max(2, len(users) // 2)):
        dev = make_device(rng, i, meta)
        tenant.objs["devices"][dev["id"]] = dev
    for d in domains(meta):
        tenant.objs["domains"][d["id"]] = d
    org = organization(meta)
    tenant.objs["organization"][org["id"]] = org
    aus = []
    for i, office in enumerate(OFFICES[: max(2, min(len(OFFICES), len(users) // 2000 + 2))]):
        au = {"id": guid(rng), "displayName": f"{office[0]} office", "description": f"Users and groups in {office[0]}",
              "visibility": None if i % 3 else "HiddenMembership", "isMemberManagementRestricted": None,
              "membershipRule": None, "membershipRuleProcessingState": None, "membershipType": None}
        tenant.objs["administrativeUnits"][au["id"]] = au
        aus.append(au)
        for u in users:
            if u.get("city") == office[0]:
                tenant.rel["au_members"].setdefault(au["id"], {})[u["id"]] = None
                tenant.rev["au_members"].setdefault(u["id"], set()).add(au["id"])
        if groups:
            g = groups[(i * 7 + 1) % len(groups)]
            tenant.rel["au_members"].setdefault(au["id"], {})[g["id"]] = None
            tenant.rev["au_members"].setdefault(g["id"], set()).add(au["id"])
    return aus
