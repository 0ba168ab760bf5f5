"""One Graph request end to end: authenticate, fault injection, throttling, dispatch, response headers.
$batch sub-requests reuse ``run`` (each one throttled on its own, https://learn.microsoft.com/graph/json-batching)."""

from __future__ import annotations

import time
import urllib.parse

from graph_emulator import batch, odata
from graph_emulator.common import GraphError, Response, request_ids
from graph_emulator.faults import FAULTS, error_for
from graph_emulator.graphapi.context import Ctx
from graph_emulator.graphapi.router import dispatch


def split_path(path: str) -> tuple[str, list[str]]:
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    return parts[0], parts[1:]


def graph_request(emu, method: str, path: str, query: str, headers, body: bytes):
    version, segments = split_path(path)
    crid = headers.get("client-request-id")
    try:
        tenant, claims = emu.validator.authenticate(headers.get("Authorization"))
    except GraphError as err:
        return _finish(err.response(crid), headers)
    tenant.ensure_loaded()
    fault = FAULTS.draw(tenant)
    if fault == "reset":
        return "reset"
    if fault in ("error503", "error504"):
        return _finish(error_for(fault, hash(crid or time.time()) % 2 == 0).response(crid), headers)
    if fault == "slow":
        time.sleep(float(tenant.config["faults"].get("slow_seconds", 2.0)))
    resp = run(emu, tenant, claims, method, version, segments, query, headers, body)
    resp = _finish(resp, headers)
    return ("truncate", resp) if fault == "truncate" and resp.body else resp


def run(emu, tenant, claims, method, version, segments, query, headers, body, in_batch=False) -> Response:
    crid = headers.get("client-request-id")
    try:
        q = odata.parse_query(query, headers)
        if segments == ["$batch"] and not in_batch:
            return batch.handle(emu, tenant, claims, version, headers, body)
        limited, extra = emu.throttler.check(tenant, claims.get("appid", ""), method, segments, q)
        if limited is not None:
            return limited
        ctx = Ctx(tenant, claims, method, version, segments, q, headers, body, emu.base, emu.codec, in_batch)
        with tenant.lock:
            resp = dispatch(ctx)
        resp.headers.update(extra)
        resp.headers.update(ctx.extra_headers)
        return resp
    except GraphError as err:
        return err.response(crid)


def _finish(resp: Response, headers) -> Response:
    ids = request_ids(headers)
    for k, v in ids.items():
        resp.headers.setdefault(k, v)
    resp.headers.setdefault("OData-Version", "4.0")
    resp.headers.setdefault("Cache-Control", "no-cache")
    return resp
