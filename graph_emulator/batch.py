"""JSON batching (https://learn.microsoft.com/graph/json-batching): max 20 requests, unique ids, relative URLs, dependsOn -> 424 when a
dependency failed, a batch fully parallel or fully sequential, each sub-request throttled individually, headers
(ConsistencyLevel...) per request."""

from __future__ import annotations

import base64

import orjson

from graph_emulator.common import GraphError, Response, json_response

MAX_REQUESTS = 20


class _Headers(dict):
    """Case-insensitive header lookup like http.client's, for sub-requests."""

    def get(self, key, default=None):
        low = key.lower()
        return next((v for k, v in self.items() if k.lower() == low), default)


def _validate(payload) -> list[dict]:
    reqs = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(reqs, list) or not reqs:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(reqs) > MAX_REQUESTS:
        raise GraphError(400, "BadRequest", "Number of batch request steps exceeds the maximum of 20.")
    ids = [str(r.get("id")) for r in reqs]
    if len(set(ids)) != len(ids):
        raise GraphError(400, "BadRequest", "Batch request contains duplicate Ids.")
    _check_dependencies(reqs)
    for r in reqs:
        url = str(r.get("url", ""))
        if url.startswith(("http://", "https://")):
            raise GraphError(400, "BadRequest", "Batch request URLs must be relative.")
        if "body" in r and not any(k.lower() == "content-type" for k in (r.get("headers") or {})):
            raise GraphError(400, "BadRequest", "Content-Type header is required when a body is present.")
    return reqs


def _check_dependencies(reqs: list[dict]) -> None:
    """Graph runs a batch either fully in parallel (no dependsOn) or fully in sequence (every request but the
    first names an earlier one): a mix is refused, as is a dependency on a request not seen before it
    (https://learn.microsoft.com/answers/questions/1532547/regarding-batching-response-order: "Batch should be
    either fully sequential or fully parallel"; the known issues of JSON batching list the same patterns)."""
    seen: set[str] = set()
    stated = [bool(r.get("dependsOn")) for r in reqs]
    if any(stated) and not all(stated[1:]):
        raise GraphError(400, "BadRequest", "Batch should be either fully sequential or fully parallel")
    for r in reqs:
        rid = str(r.get("id"))
        for dep in r.get("dependsOn") or []:
            if str(dep) not in seen:
                raise GraphError(400, "BadRequest", f"The dependsOn Id: [{dep}] in request [{rid}] is not matching "
                                 "any of the request Id seen so far. Forward reference is not allowed.")
        seen.add(rid)


def handle(emu, tenant, claims, version: str, outer_headers, body: bytes) -> Response:
    # local: pipeline imports batch (a $batch request re-enters the pipeline for each sub-request)
    from graph_emulator.pipeline import run, split_path

    try:
        reqs = _validate(orjson.loads(body or b"{}"))
    except orjson.JSONDecodeError:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.") from None
    status: dict[str, int] = {}
    responses = []
    for r in reqs:  # sequential: dependsOn ordering is honoured trivially
        rid = str(r["id"])
        deps = [str(d) for d in (r.get("dependsOn") or [])]
        if any(status.get(d, 424) >= 400 for d in deps):
            status[rid] = 424
            responses.append({"id": rid, "status": 424, "headers": {}, "body": {"error": {
                "code": "FailedDependency", "message": "Failed dependency"}}})
            continue
        url = str(r.get("url", "")).lstrip("/")
        path, _, query = url.partition("?")
        if path.startswith(("v1.0/", "beta/")):
            path = path.split("/", 1)[1]
        sub_body = r.get("body")
        raw = sub_body if isinstance(sub_body, (bytes, str)) else orjson.dumps(sub_body) if sub_body is not None else b""
        if isinstance(raw, str):
            raw = raw.encode()
        headers = _Headers(r.get("headers") or {})
        resp = run(emu, tenant, claims, str(r.get("method", "GET")).upper(), version,
                   split_path(f"/{version}/{path}")[1], query, headers, raw, in_batch=True)
        status[rid] = resp.status
        responses.append(_sub_response(rid, resp))
    return json_response(200, {"responses": responses})


def _sub_response(rid: str, resp: Response) -> dict:
    headers = dict(resp.headers)
    if resp.content_type:
        headers["Content-Type"] = resp.content_type
    out = {"id": rid, "status": resp.status, "headers": headers}
    if resp.body:
        if resp.content_type and "json" in resp.content_type:
            out["body"] = orjson.loads(resp.body)
        else:  # text/plain ($count) bodies are base64 in batch responses
            out["body"] = base64.b64encode(resp.body).decode()
    return out
