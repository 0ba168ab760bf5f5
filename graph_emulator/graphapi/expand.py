"""$expand for directory objects: one level, at most 20 related items, no nextLink (https://learn.microsoft.com/graph/query-parameters#expand)."""

from __future__ import annotations

from graph_emulator import views
from graph_emulator.common import bad_request
from graph_emulator.graphapi.listing import EXPAND_MAX_ITEMS

EXPANDABLE = {
    "users": {"manager", "directReports", "memberOf"},
    "groups": {"members", "owners", "memberOf"},
    "administrativeUnits": {"members"},
    "directoryRoles": {"members"},
    "roleAssignments": {"principal", "roleDefinition"},
    "servicePrincipals": {"appRoleAssignedTo", "appRoleAssignments", "owners"},
    "applications": {"owners"},
}


def parse(ctx, kind: str) -> list[tuple[str, list[str] | None]]:
    """'members($select=id,displayName),owners' -> [(nav, select)]; validates nav names."""
    text = ctx.query.get("$expand")
    out, depth, cur = [], 0, ""
    for ch in text + ",":
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            name, _, inner = cur.strip().partition("(")
            sel = inner.rstrip(")").split("=", 1)[1].split(",") if "$select=" in inner else None
            if name not in EXPANDABLE.get(kind, ()):
                raise bad_request(f"Could not find a property named '{name}' on type "
                                  f"'microsoft.graph.{views.KINDS[kind].type}'.")
            out.append((name, sel))
            cur = ""
        else:
            cur += ch
    return out


def _objs(tenant, ids):
    for oid in ids:
        hit = tenant.find(oid)
        if hit:
            yield hit


def related(tenant, kind: str, obj: dict, nav: str):
    oid = obj["id"]
    if nav == "manager":
        mid = tenant.managers.get(oid)
        return tenant.find(mid) if mid else None
    if nav == "directReports":
        return list(_objs(tenant, [u for u, m in tenant.managers.items() if m == oid]))
    if nav == "memberOf":
        return list(_objs(tenant, sorted(tenant.rev["group_members"].get(oid, ()))))
    rel = {"groups": {"members": "group_members", "owners": "group_owners"}, "administrativeUnits": {
        "members": "au_members"}, "directoryRoles": {"members": "role_members"},
        "applications": {"owners": "app_owners"}, "servicePrincipals": {"owners": "sp_owners"}}.get(kind, {}).get(nav)
    if rel:
        return list(_objs(tenant, tenant.members(rel, oid)))
    if nav == "principal":
        return tenant.find(obj["principalId"])
    if nav == "roleDefinition":
        rd = tenant.objs["roleDefinitions"].get(obj["roleDefinitionId"])
        return ("roleDefinitions", rd) if rd else None
    key = "resourceId" if nav == "appRoleAssignedTo" else "principalId"
    return [("appRoleAssignments", a) for a in tenant.objs["appRoleAssignments"].values() if a[key] == oid]


def apply(ctx, kind: str, obj: dict, item: dict) -> None:
    for nav, sel in parse(ctx, kind):
        got = related(ctx.tenant, kind, obj, nav)
        if isinstance(got, list):
            item[nav] = [views.project(k, o, views.normalize_select(k, sel), True) for k, o in got[:EXPAND_MAX_ITEMS]]
        else:
            item[nav] = views.project(got[0], got[1], views.normalize_select(got[0], sel), True) if got else None
