"""Control plane under /_emulator/... (not Graph). Every call needs X-Emulator-Key = contents of admin.key."""

from __future__ import annotations

import hmac
import re
import secrets
import time
import uuid

import orjson

from graph_emulator import mutate, views
from graph_emulator.apps_registry import register
from graph_emulator.common import Response, json_response
from graph_emulator.faults import FAULTS
from graph_emulator.kinds import KINDS
from graph_emulator.store import DEFAULT_CONFIG, merge_config

FIXED_ANCHOR = 1793491200.0  # 2026-11-01T00:00:00Z: generated timestamps are relative to this (determinism)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _err(status: int, message: str) -> Response:
    return json_response(status, {"error": {"code": "EmulatorControlError", "message": message}})


def handle(emu, method: str, path: str, query: str, headers, body: bytes) -> Response:
    key = headers.get("X-Emulator-Key") or ""
    if not hmac.compare_digest(key.encode(), emu.admin_key.encode()):
        return _err(401, "missing or wrong X-Emulator-Key")
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return _err(400, "body is not JSON")
    parts = [p for p in path.split("/") if p][1:]  # drop _emulator
    if parts == ["tenants"]:
        return create_tenant(emu, data) if method == "POST" else json_response(200, list_tenants(emu))
    if len(parts) == 3 and parts[0] == "tenants":
        tenant = emu.store.resolve(parts[1])
        if tenant is None:
            return _err(404, f"unknown tenant {parts[1]}")
        tenant.ensure_loaded()
        action = {"apps": register_app, "config": configure, "mutations": mutation, "export": export}.get(parts[2])
        if action:
            return action(emu, tenant, data)
    return _err(404, f"no control endpoint {method} {path}")


def tenant_meta(data: dict) -> dict:
    seed = int(data.get("seed", 1))
    users = max(5, int(data.get("users", 100)))
    tid = str(data.get("tenant_id") or uuid.uuid5(uuid.NAMESPACE_URL, f"graph-emulator/tenant/{seed}/{users}")).lower()
    if not GUID.match(tid):
        raise ValueError("tenant_id must be a GUID")
    domain = str(data.get("domain") or f"contoso{seed}.example").lower()
    label = re.sub(r"[^a-z0-9]", "", domain.split(".")[0]) or "tenant"
    return {"tenant_id": tid, "seed": seed, "users": users, "domain": domain,
            "initial_domain": f"{label}{seed}.onmicrosoft.com", "licence": data.get("licence", "P2"),
            "name": data.get("name") or f"{label.capitalize()} Ltd", "created_at": min(time.time(), FIXED_ANCHOR),
            "clock_offset": 0.0, "config": merge_config(DEFAULT_CONFIG, {})}


def create_tenant(emu, data: dict) -> Response:
    try:
        meta = tenant_meta(data)
    except (ValueError, TypeError) as exc:
        return _err(400, str(exc))
    if meta["licence"] not in ("P1", "P2", "free"):
        return _err(400, "licence must be P1, P2 or free")
    tenant = emu.store.add(meta)
    tenant.ensure_loaded()
    return json_response(200, summary(tenant))


def summary(tenant) -> dict:
    counts = {k: len(v) for k, v in tenant.objs.items()}
    counts["groupMemberships"] = sum(len(v) for v in tenant.rel["group_members"].values())
    counts["deletedItems"] = sum(len(v) for v in tenant.deleted.values())
    return {"tenant_id": tenant.id, "domain": tenant.meta["domain"], "initial_domain": tenant.meta["initial_domain"],
            "licence": tenant.meta["licence"], "seed": tenant.meta["seed"], "users": tenant.meta["users"],
            "counts": counts}


def list_tenants(emu) -> list[dict]:
    return [{"tenant_id": t.id, "domain": t.meta["domain"], "seed": t.meta["seed"], "users": t.meta["users"],
             "licence": t.meta["licence"], "name": t.meta["name"]} for t in emu.store.tenants.values()]


def register_app(emu, tenant, data: dict) -> Response:
    try:
        out = register(tenant, str(data.get("display_name") or "Backup app"), list(data.get("roles") or []),
                       bool(data.get("secret", True)), data.get("certificate_pem"), secrets.token_urlsafe(30))
    except ValueError as exc:
        return _err(400, str(exc))
    return json_response(200, out)


def configure(emu, tenant, data: dict) -> Response:
    unknown = set(data) - set(DEFAULT_CONFIG)
    if unknown:
        return _err(400, f"unknown config keys: {sorted(unknown)}")
    with tenant.lock:
        tenant.meta["config"] = merge_config(tenant.config, data)
        tenant.save_meta()
    emu.throttler.reset(tenant.id)
    FAULTS.reseed(tenant.id)
    return json_response(200, tenant.config)


def mutation(emu, tenant, data: dict) -> Response:
    try:
        with tenant.lock:
            result = mutate.run(tenant, data)
    except mutate.MutationError as exc:
        return _err(400, str(exc))
    return json_response(200, result)


def export(emu, tenant, data: dict) -> Response:
    """Ground truth: every object as Graph returns it with a full $select, plus relationship tables."""
    with tenant.lock:
        tenant.purge_expired()
        out = {kind: [views.full(kind, o) for o in tenant.objs[kind].values()] for kind in KINDS
               if kind not in ("organization",)}
        out["organization"] = [views.full("organization", o) for o in tenant.objs["organization"].values()]
        out["group_members"] = {g: list(m) for g, m in tenant.rel["group_members"].items() if m}
        out["group_owners"] = {g: list(m) for g, m in tenant.rel["group_owners"].items() if m}
        out["application_owners"] = {a: list(m) for a, m in tenant.rel["app_owners"].items() if m}
        out["servicePrincipal_owners"] = {s: list(m) for s, m in tenant.rel["sp_owners"].items() if m}
        out["administrativeUnitMembers"] = {a: list(m) for a, m in tenant.rel["au_members"].items() if m}
        out["directoryRoleMembers"] = {r: list(m) for r, m in tenant.rel["role_members"].items() if m}
        out["managers"] = dict(tenant.managers)
        out["authenticationMethodsPolicy"] = tenant.auth_policy
        out["deletedItems"] = {kind: [views.full(kind, o) for o in items.values()]
                               for kind, items in tenant.deleted.items() if items}
        out["tenant"] = summary(tenant)
    out["conditionalAccessPolicies"] = out.pop("conditionalAccessPolicies")
    return json_response(200, out)
