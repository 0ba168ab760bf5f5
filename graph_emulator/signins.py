"""Sign-in logs generated lazily and deterministically per minute of tenant time (no storage):
minute m holds about signins_per_minute records drawn from Random((seed, m)). Newest first, page
default = max = 1000 (https://learn.microsoft.com/graph/api/signin-list). v1.0 and beta-without-event-type-filter show interactive only."""

from __future__ import annotations

import math
import random

from graph_emulator import arrival, odata, ofilter, schema
from graph_emulator.audit import filter_bounds, retention_days
from graph_emulator.common import GraphError, Response, iso_precise, json_response, parse_iso
from graph_emulator.generator.common import guid
from graph_emulator.generator.names import OFFICES
from graph_emulator.graphapi.context import Ctx
from graph_emulator.graphapi.listing import expired_token
from graph_emulator.permissions import GRAPH_APP_ID

EVENT_TYPES = [("interactiveUser", 0.4), ("nonInteractiveUser", 0.4), ("servicePrincipal", 0.15),
               ("managedIdentity", 0.05)]
APPS = [("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"), ("Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000"), ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
        ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c")]


def minute_records(tenant, minute: int) -> list[dict]:
    """All sign-ins of one tenant minute, newest first (deterministic)."""
    rate = float(tenant.config.get("signins_per_minute", 1.0))
    rng = random.Random(f"{tenant.meta['seed']}/signin/{minute}")
    n = int(rate) + (rng.random() < rate - int(rate))
    users = tenant.sorted_ids("users")
    sps = tenant.sorted_ids("servicePrincipals")
    out = [_record(tenant, rng, minute * 60 + rng.uniform(0, 60), users, sps) for _ in range(n)]
    out.sort(key=lambda r: r["_ts"], reverse=True)
    return out


def _record(tenant, rng, ts: float, users, sps) -> dict:
    roll, acc, etype = rng.random(), 0.0, "interactiveUser"
    for name, share in EVENT_TYPES:
        acc += share
        if roll < acc:
            etype = name
            break
    # One draw per pick whatever the list's length, so a new user or app does not reshuffle past minutes.
    u = tenant.objs["users"].get(users[int(rng.random() * len(users))]) if users else None
    app_name, app_id = APPS[rng.randrange(len(APPS))]
    city, state, cc = OFFICES[rng.randrange(len(OFFICES))][:3]
    failed = rng.random() < 0.08
    hidden = "hidden" if tenant.meta.get("licence") != "P2" else "none"
    created = iso_precise(ts)
    rec = {"id": guid(rng), "createdDateTime": created, "_ts": parse_iso(created),  # _ts == what filters see
           "userDisplayName": u and u.get("displayName"), "userPrincipalName": u and u.get("userPrincipalName"),
           "userId": u["id"] if u else None, "appId": app_id, "appDisplayName": app_name,
           "ipAddress": f"198.51.100.{rng.randrange(1, 254)}", "clientAppUsed": "Browser" if etype == "interactiveUser"
           else "Mobile Apps and Desktop clients", "correlationId": guid(rng),
           "conditionalAccessStatus": "success" if not failed else "failure", "isInteractive": etype == "interactiveUser",
           "riskDetail": hidden, "riskLevelAggregated": hidden, "riskLevelDuringSignIn": hidden, "riskState": "none",
           "riskEventTypes": [], "riskEventTypes_v2": [], "resourceDisplayName": "Microsoft Graph",
           "resourceId": GRAPH_APP_ID, "resourceTenantId": tenant.id, "homeTenantId": tenant.id,
           "status": {"errorCode": 50126 if failed else 0, "failureReason": "Error validating credentials due to invalid "
                      "username or password." if failed else "Other.", "additionalDetails": None},
           "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows10", "browser": "Edge 124.0.0",
                            "isCompliant": False, "isManaged": False, "trustType": ""},
           "location": {"city": city, "state": state, "countryOrRegion": cc,
                        "geoCoordinates": {"altitude": None, "latitude": 47.6, "longitude": -122.1}},
           "appliedConditionalAccessPolicies": [], "authenticationAppDeviceDetails": None,
           "servicePrincipalId": "", "servicePrincipalName": "", "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
           "signInEventTypes": [etype], "userType": "member", "authenticationRequirement": "singleFactorAuthentication",
           "tokenIssuerType": "AzureAD", "processingTimeInMilliseconds": rng.randrange(20, 400),
           "managedServiceIdentity": {"msiType": "none", "associatedResourceId": None, "federatedTokenId": None,
                                      "federatedTokenIssuer": None}}
    sp_pick = rng.random()
    if etype in ("servicePrincipal", "managedIdentity") and sps:
        sp = tenant.objs["servicePrincipals"].get(sps[int(sp_pick * len(sps))])
        rec.update(userDisplayName=None, userPrincipalName=None, userId="", servicePrincipalId=sp["id"],
                   servicePrincipalName=sp["displayName"], appId=sp["appId"], appDisplayName=sp["displayName"],
                   clientAppUsed=None, isInteractive=False)
        if etype == "managedIdentity":
            rec["managedServiceIdentity"]["msiType"] = "systemAssigned"
    return rec


def handle(ctx: Ctx, rest: list[str]) -> Response:
    t = ctx.tenant
    if not t.premium:  # https://learn.microsoft.com/graph/api/signin-list: sign-in logs need P1/P2
        raise GraphError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                         "Neither tenant is B2C or tenant doesn't have premium license")
    q = ctx.query
    text = q.get("$filter")
    pred = ofilter.compile_filter(text)[0] if text else None
    interactive_only = ctx.version == "v1.0" or "signineventtypes" not in (text or "").lower()
    size = odata.top(q, 1000, 1000)
    now = t.now()
    lo, hi = filter_bounds(text, "createdDateTime")
    upper = min(now - float(t.config.get("audit_delay_seconds", 0)), hi if hi is not None else math.inf)
    late = now - arrival.max_delay(t.config)  # records newer than this may not have arrived yet
    lower = max(now - retention_days(t) * 86400, lo if lo is not None else -math.inf)
    bind = f"{t.id}:signins:{ctx.version}"
    state = ctx.codec.open(q.get("$skiptoken"), bind) if q.get("$skiptoken") else None
    if q.get("$skiptoken") and state is None:
        raise expired_token()
    page, more = _scan(t, lower, upper, state, size, lambda r: (not interactive_only or r["isInteractive"]) and (
        r["_ts"] <= late or arrival.arrived(t.config, r, now)) and (pred is None or pred(r)))
    body = {"@odata.context": ctx.context_url("auditLogs/signIns")}
    if more:
        token = ctx.codec.seal({"t": page[-1]["_ts"], "i": page[-1]["id"]}, bind)
        body["@odata.nextLink"] = odata.next_link(ctx.base, f"/{ctx.version}{ctx.path}", q, "$skiptoken", token)
    keep = set(schema.prop_names("signIn" if ctx.version == "v1.0" else "beta.signIn"))
    body["value"] = [{k: v for k, v in r.items() if k in keep} for r in page]
    return json_response(200, body)


def _scan(t, lower: float, upper: float, state, size: int, accept) -> tuple[list[dict], bool]:
    start = (state["t"], state["i"]) if state else None
    m = int(min(upper, state["t"] if state else upper) // 60)
    page: list[dict] = []
    while m * 60 + 60 > lower:
        for r in minute_records(t, m):
            if r["_ts"] > upper or r["_ts"] < lower or (start and (r["_ts"], r["id"]) >= start):
                continue
            if accept(r):
                if len(page) == size:
                    return page, True
                page.append(r)
        m -= 1
    return page, False
