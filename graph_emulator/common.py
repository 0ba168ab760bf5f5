"""Small shared helpers: HTTP response value, Graph error envelopes, time formatting."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

import orjson

JSON_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
GRAPH = "https://graph.microsoft.com"


@dataclass
class Response:
    """What a handler returns; the server turns it into bytes on the wire."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON_CT


def json_response(status: int, obj, headers: dict | None = None, content_type: str = JSON_CT) -> Response:
    return Response(status, orjson.dumps(obj), dict(headers or {}), content_type)


def empty(status: int = 204, headers: dict | None = None) -> Response:
    return Response(status, b"", dict(headers or {}), None)


class GraphError(Exception):
    """Raised anywhere inside a Graph handler; rendered with the real Graph error envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, inner: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.inner = inner or {}

    def response(self, client_request_id: str | None = None) -> Response:
        inner = {"date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4()),
                 "client-request-id": client_request_id or str(uuid.uuid4()), **self.inner}
        body = {"error": {"code": self.code, "message": self.message, "innerError": inner}}
        return json_response(self.status, body, self.headers, "application/json")


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(oid: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{oid}' does not exist or one of its queried reference-property objects are not present.")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(ts: float) -> str:
    """Graph DateTimeOffset rendering, e.g. 2024-01-09T21:20:02Z (second precision)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_precise(ts: float) -> str:
    """Audit-log style timestamp with 7 fractional digits like 2018-01-09T21:20:02.7215374Z."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond:06d}0Z"


def parse_iso(value: str) -> float:
    """Parse an OData DateTimeOffset literal (with or without fraction / Z) to epoch seconds."""
    v = value.strip().strip("'")
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    if "." in v:  # Python accepts at most 6 fractional digits
        head, _, rest = v.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits):]
        v = f"{head}.{digits[:6]}{tail}"
    d = dt.datetime.fromisoformat(v)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def request_ids(headers) -> dict:
    """The ids Graph returns on every response (https://learn.microsoft.com/graph/best-practices-concept#reliability-and-support)."""
    rid = str(uuid.uuid4())
    return {"request-id": rid, "client-request-id": headers.get("client-request-id") or rid,
            "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"5",'
            '"ScaleUnit":"000","RoleInstance":"EMU"}}'}  # Date: sent by send_response
