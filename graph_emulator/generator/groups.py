"""Groups (security, Microsoft 365, dynamic, role-assignable, nested), members and owners."""

from __future__ import annotations

from graph_emulator.generator.common import guid, past, sid, sub_rng
from graph_emulator.generator.names import GROUP_TOPICS, GROUP_WORDS, HOSTILE_GROUP_NAME, OFFICES
from graph_emulator.generator.people import DEPT_NAMES

# each (department, city) pair backs at most one dynamic group, so dynamic memberships stay ~1 per user
DYN_COMBOS = [(d, o[0]) for d in DEPT_NAMES for o in OFFICES]
HOSTILE_GROUP = 2  # a cloud-only security group in every tenant (groups has at least three entries)


def _base(rng, name: str, nick: str, meta: dict) -> dict:
    return {"id": guid(rng), "displayName": name, "description": f"{name} group", "mailNickname": nick,
            "createdDateTime": past(rng, meta["created_at"], 1500, 10), "securityIdentifier": sid(rng, "S-1-12-1"),
            "groupTypes": [], "proxyAddresses": [], "assignedLicenses": [], "assignedLabels": [],
            "onPremisesProvisioningErrors": [], "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
            "renewedDateTime": None}


def make_group(rng, i: int, meta: dict) -> dict:
    """Group i: the mix of types a mid-size tenant has. Kind chosen by index so sizes scale evenly."""
    topic = f"{GROUP_TOPICS[i % len(GROUP_TOPICS)]} {GROUP_WORDS[(i // len(GROUP_TOPICS)) % len(GROUP_WORDS)]} {i}"
    nick = topic.lower().replace(" ", "-")
    g = _base(rng, topic, nick, meta)
    slot = (i * 7) % 20  # interleave kinds so even tiny tenants get every kind of group
    if slot < 7:  # Microsoft 365 group: mail-enabled, soft-deletable (https://learn.microsoft.com/graph/api/directory-deleteditems-list)
        mail = f"{nick}@{meta['domain']}"
        g.update(groupTypes=["Unified"], mailEnabled=True, securityEnabled=False, mail=mail, visibility=rng.choice(
            ("Private", "Public")), proxyAddresses=[f"SMTP:{mail}"], renewedDateTime=g["createdDateTime"],
            resourceProvisioningOptions=["Team"] if slot < 3 else [])
    elif slot < 9 and (i // 20) * 2 + 1 < len(DYN_COMBOS):  # dynamic security group; members follow the rule
        dept, city = DYN_COMBOS[(i // 20) * 2 + slot - 7]
        g.update(displayName=f"Dyn - {dept} {city}", groupTypes=["DynamicMembership"], mailEnabled=False,
                 securityEnabled=True, membershipRule=f'(user.department -eq "{dept}") -and (user.city -eq "{city}")',
                 membershipRuleProcessingState="On")
    else:
        g.update(mailEnabled=False, securityEnabled=True)
        if slot == 9:
            g.update(isAssignableToRole=True, displayName=f"Role - {topic}")
        if slot in (10, 11):  # synced from on-premises AD
            g.update(onPremisesSyncEnabled=True, onPremisesSamAccountName=nick[:20], onPremisesSecurityIdentifier=sid(rng),
                     onPremisesLastSyncDateTime=past(rng, meta["created_at"], 0.02),
                     onPremisesDomainName=f"corp.{meta['domain']}")
    g.setdefault("isAssignableToRole", None if slot != 9 else True)
    return g


def generate_groups(tenant, users: list[dict]) -> list[dict]:
    """About users/5 groups with about 5 memberships per user, skewed sizes, some nesting."""
    meta = tenant.meta
    rng = sub_rng(meta["seed"], "groups")
    members = [u for u in users if u["userType"] == "Member"]
    n = max(3, len(users) // 5)
    all_company = _base(rng, "All Company", "allcompany", meta)
    mail = f"allcompany@{meta['domain']}"
    all_company.update(groupTypes=["Unified"], mailEnabled=True, securityEnabled=False, mail=mail, visibility="Public",
                       proxyAddresses=[f"SMTP:{mail}"], isAssignableToRole=None, renewedDateTime=all_company["createdDateTime"])
    groups = [all_company] + [make_group(rng, i, meta) for i in range(1, n)]
    groups[HOSTILE_GROUP]["displayName"] = HOSTILE_GROUP_NAME
    _link_members(tenant, rng, groups, users, members)
    return groups


def _link_members(tenant, rng, groups, users, members) -> None:
    rel, rev = tenant.rel["group_members"], tenant.rev["group_members"]
    owners, orev = tenant.rel["group_owners"], tenant.rev["group_owners"]

    def link(table, rtable, gid, oid):
        table.setdefault(gid, {})[oid] = None
        rtable.setdefault(oid, set()).add(gid)

    for u in users:  # All Company holds everyone
        link(rel, rev, groups[0]["id"], u["id"])
    static = [g for g in groups[1:] if "DynamicMembership" not in g["groupTypes"]]
    cum, total = [], 0.0
    for k in range(len(static)):  # Zipf-ish: a few big groups, many small
        total += 1.0 / (1 + k % 50)
        cum.append(total)
    for u in members:
        for g in rng.choices(static, cum_weights=cum, k=3) if static else ():
            link(rel, rev, g["id"], u["id"])
    by_combo: dict[tuple, list[str]] = {}
    for u in members:
        by_combo.setdefault((u["department"], u["city"]), []).append(u["id"])
    for g in groups:
        if g.get("membershipRule"):
            parts = g["membershipRule"].split('"')
            for uid in by_combo.get((parts[1], parts[3]), []):
                link(rel, rev, g["id"], uid)
        for o in rng.sample(members, k=min(len(members), 1 + (g["groupTypes"] == ["Unified"]))):
            link(owners, orev, g["id"], o["id"])
    security = [g for g in static if g["securityEnabled"] and not g.get("isAssignableToRole")]
    for k in range(0, len(security) - 1, 10):  # nesting: security groups inside security groups
        link(rel, rev, security[k]["id"], security[k + 1]["id"])
