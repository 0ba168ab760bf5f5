"""Organizational contacts (orgContact): people outside the tenant kept in the address list, most of them synced
from on-premises Active Directory (https://learn.microsoft.com/graph/api/resources/orgcontact)."""

from __future__ import annotations

from graph_emulator.common import iso
from graph_emulator.generator.common import guid, sub_rng
from graph_emulator.generator.names import DEPARTMENTS, GIVEN, OFFICES, SURNAMES

PARTNERS = ("Fabrikam", "Northwind Traders", "Tailspin Toys", "Woodgrove Bank", "Litware", "Adventure Works")


def generate_contacts(tenant, users: list[dict]) -> None:
    """One contact per 20 users (at least 3), from a random stream of their own."""
    meta = tenant.meta
    rng = sub_rng(meta["seed"], "contacts")
    for i in range(max(3, len(users) // 20)):
        contact = make_contact(rng, i, meta)
        tenant.objs["orgContacts"][contact["id"]] = contact


def make_contact(rng, i: int, meta: dict) -> dict:
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    company = PARTNERS[i % len(PARTNERS)]
    domain = company.lower().replace(" ", "") + ".example"
    nickname = f"{given}.{surname}.{i}".lower()
    city, state, _, country, postal, street, prefix = rng.choice(OFFICES)
    department = rng.choice(sorted(DEPARTMENTS))
    synced = i % 4 != 0
    return {
        "id": guid(rng), "deletedDateTime": None, "displayName": f"{given} {surname} ({company})",
        "givenName": given, "surname": surname, "companyName": company, "department": department,
        "jobTitle": rng.choice(DEPARTMENTS[department]), "mail": f"{nickname}@{domain}", "mailNickname": nickname,
        "addresses": [{"city": city, "countryOrRegion": country, "officeLocation": None, "postalCode": postal,
                       "state": state, "street": street}],
        "phones": [{"language": None, "number": f"{prefix} {rng.randrange(1000, 9999)}", "region": None,
                    "type": "business"}],
        "proxyAddresses": [f"SMTP:{nickname}@{domain}"],
        "onPremisesSyncEnabled": True if synced else None,
        "onPremisesLastSyncDateTime": iso(meta["created_at"] - rng.uniform(60, 1800)) if synced else None,
        "onPremisesProvisioningErrors": [], "serviceProvisioningErrors": [],
    }
