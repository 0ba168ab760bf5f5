"""Directory audit records (every write leaves one, real shape: examples/list-directoryaudits.json) and
the /auditLogs endpoints: directoryAudits, signIns (v1.0 + beta). Records appear only after
audit_delay_seconds plus their own arrival delay (arrival.py, tenant clock) and are kept 30 days on P1/P2,
7 on free (https://learn.microsoft.com/graph/api/resources/azure-ad-auditlog-overview)."""

from __future__ import annotations

import uuid

import orjson

from graph_emulator import arrival, odata, ofilter
from graph_emulator.common import GraphError, Response, iso_precise, json_response, parse_iso
from graph_emulator.generator.roles import GLOBAL_ADMIN_TEMPLATE
from graph_emulator.graphapi.context import Ctx
from graph_emulator.graphapi.listing import expired_token

CATEGORY = {"User": "UserManagement", "Group": "GroupManagement", "Application": "ApplicationManagement",
            "ServicePrincipal": "ApplicationManagement", "Policy": "Policy", "Role": "RoleManagement",
            "Device": "Device", "AdministrativeUnit": "AdministrativeUnit", "Directory": "DirectoryManagement"}


def retention_days(tenant) -> int:
    return 30 if tenant.premium else 7


def admin(tenant) -> dict:
    """initiatedBy for control-plane mutations: the first Global Administrator (a real admin user)."""
    role = next((r for r in tenant.objs["directoryRoles"].values() if r["roleTemplateId"] == GLOBAL_ADMIN_TEMPLATE), None)
    uid = next(iter(tenant.rel["role_members"].get(role["id"], {})), None) if role else None
    user = tenant.objs["users"].get(uid) if uid else None
    if user is None:
        return {"user": None, "app": None}
    return {"user": {"id": user["id"], "displayName": None, "userPrincipalName": user["userPrincipalName"],
                     "ipAddress": "203.0.113.10"}, "app": None}


def app_initiator(tenant, claims: dict) -> dict:
    return {"user": None, "app": {"appId": claims.get("appid"), "displayName": claims.get("app_displayname"),
                                  "servicePrincipalId": claims.get("oid"),
                                  "servicePrincipalName": claims.get("app_displayname")}}


def modified(name: str, old, new) -> dict:
    """modifiedProperties carry JSON-encoded strings, e.g. '["Sales"]' (as the real logs do)."""
    enc = lambda v: None if v is None else orjson.dumps(v if isinstance(v, list) else [v]).decode()  # noqa: E731
    return {"displayName": name, "oldValue": enc(old), "newValue": enc(new)}


def scalar(name: str, old, new) -> dict:
    """A modifiedProperty whose values are single JSON strings, e.g. Group.DisplayName '"Sales"' (not lists)."""
    enc = lambda v: None if v is None else orjson.dumps(v).decode()  # noqa: E731
    return {"displayName": name, "oldValue": enc(old), "newValue": enc(new)}


def included(names) -> dict:
    """The "Included Updated Properties" entry an Update record closes with: the changed names, comma-joined."""
    return {"displayName": "Included Updated Properties", "oldValue": None,
            "newValue": orjson.dumps(", ".join(names)).decode()}


# What a member / owner target records about the object it joined or left (Group.ObjectID, Role.TemplateId...).
CONTAINER_PREFIX = {"groups": "Group", "administrativeUnits": "AdministrativeUnit", "directoryRoles": "Role",
                    "applications": "Application", "servicePrincipals": "ServicePrincipal"}


def container_props(kind: str, container: dict, added: bool) -> list[dict]:
    """modifiedProperties of the member (or owner) target of an Add/Remove member/owner record."""
    prefix = CONTAINER_PREFIX[kind]
    values = {"ObjectID": container.get("id"), "DisplayName": container.get("displayName")}
    if kind == "directoryRoles":
        values["TemplateId"] = container.get("roleTemplateId")
    if kind in ("applications", "servicePrincipals"):
        values["AppId"] = container.get("appId")
    return [scalar(f"{prefix}.{k}", None if added else v, v if added else None) for k, v in values.items()]


def target(obj: dict, type_name: str, props: list | None = None) -> dict:
    t = {"id": obj.get("id"), "displayName": obj.get("displayName"), "type": type_name,
         "userPrincipalName": obj.get("userPrincipalName"), "groupType": None, "modifiedProperties": props or []}
    if type_name == "Group":
        types = obj.get("groupTypes") or []
        t["groupType"] = "unifiedGroups" if "Unified" in types else "azureAD"
    return t


def record(tenant, activity: str, category: str, operation: str, initiated: dict, targets: list[dict],
           result: str = "success", details: list | None = None) -> str:
    now = tenant.now()
    rec = {"id": f"Directory_{uuid.uuid4().hex[:5].upper()}_{uuid.uuid4().hex[:8].upper()}",
           "category": category, "correlationId": str(uuid.uuid4()), "result": result, "resultReason": "",
           "activityDisplayName": activity, "activityDateTime": iso_precise(now), "loggedByService": "Core Directory",
           "operationType": operation, "initiatedBy": initiated, "targetResources": targets,
           "additionalDetails": details or [], "_ts": now}
    tenant.apply(["audit", rec])
    return rec["id"]


def _visible(ctx: Ctx):
    t = ctx.tenant
    now = t.now()
    oldest = now - retention_days(t) * 86400
    return [r for r in t.audits if oldest <= r["_ts"] and arrival.arrived(t.config, r, now)]


def directory_audits(ctx: Ctx, rest: list[str]) -> Response:
    q = ctx.query
    records = _visible(ctx)
    if rest:
        rec = next((r for r in records if r["id"] == rest[0]), None)
        if rec is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{rest[0]}' does not exist.")
        body = {"@odata.context": ctx.context_url("auditLogs/directoryAudits", entity=True), **public(rec)}
        return json_response(200, body)
    pred = ofilter.compile_filter(q.get("$filter"))[0] if q.get("$filter") else None
    size = odata.top(q, 100, 1000)
    desc = "asc" not in (q.get("$orderby") or "").lower()
    records.sort(key=lambda r: (r["_ts"], r["id"]), reverse=desc)
    bind = f"{ctx.tenant.id}:audits"
    state = ctx.codec.open(q.get("$skiptoken"), bind) if q.get("$skiptoken") else None
    if q.get("$skiptoken") and state is None:
        raise expired_token()
    if state:
        last = (state["t"], state["i"])
        records = [r for r in records if ((r["_ts"], r["id"]) < last if desc else (r["_ts"], r["id"]) > last)]
    matched = [r for r in records if pred is None or pred(r)]
    page = matched[:size]
    body = {"@odata.context": ctx.context_url("auditLogs/directoryAudits")}
    if len(matched) > size:
        token = ctx.codec.seal({"t": page[-1]["_ts"], "i": page[-1]["id"]}, bind)
        body["@odata.nextLink"] = odata.next_link(ctx.base, f"/{ctx.version}{ctx.path}", q, "$skiptoken", token)
    body["value"] = [public(r) for r in page]
    return json_response(200, body)


def public(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k != "_ts"}


def filter_bounds(text: str | None, prop: str) -> tuple[float | None, float | None]:
    """ge/gt and le/lt bounds on ``prop`` from top-level ands, so scans can skip whole time ranges."""
    if not text:
        return None, None
    _, _, tree = ofilter.compile_filter(text)
    lo = hi = None
    stack = [tree]
    while stack:
        node = stack.pop()
        if node[0] == "and":
            stack += [node[1], node[2]]
        elif node[0] == "cmp" and node[2] == ("path", [prop]) and node[3][0] == "lit":
            val = node[3][1] if isinstance(node[3][1], float) else parse_iso(str(node[3][1]))
            if node[1] in ("ge", "gt", "eq"):
                lo = val if lo is None else max(lo, val)
            if node[1] in ("le", "lt", "eq"):
                hi = val if hi is None else min(hi, val)
    return lo, hi
