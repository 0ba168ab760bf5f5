"""Per-request context handed to every Graph handler."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from graph_emulator import permissions
from graph_emulator.common import GraphError, bad_request
from graph_emulator.odata import Query, TokenCodec


@dataclass
class Ctx:
    tenant: object
    claims: dict
    method: str
    version: str  # "v1.0" | "beta"
    segments: list[str]  # path after the version, already split, percent-decoded
    query: Query
    headers: object
    body: bytes
    base: str  # https://127.0.0.1:PORT
    codec: TokenCodec
    in_batch: bool = False
    extra_headers: dict = field(default_factory=dict)
    ru_cost: int = 1

    @property
    def roles(self) -> list[str]:
        return self.claims.get("roles", [])

    @property
    def app_id(self) -> str:
        return self.claims.get("appid", "")

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)

    @property
    def service_root(self) -> str:
        return f"{self.base}/{self.version}"

    def require(self, area: str, access: str = "read") -> None:
        """403 with the real message when the token's roles don't grant the area (permissions.REQUIRED)."""
        if not permissions.allowed(self.roles, area, access):
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    def json(self) -> dict:
        try:
            data = orjson.loads(self.body or b"{}")
        except orjson.JSONDecodeError:
            raise bad_request("Invalid JSON in request body.", "BadRequest") from None
        if not isinstance(data, dict):
            raise bad_request("Request body must be a JSON object.", "BadRequest")
        return data

    def page_default(self) -> int:
        return int(self.tenant.config.get("page_size_default", 100))

    def context_url(self, entity_set: str, select=None, entity: bool = False) -> str:
        sel = f"({','.join(select)})" if select else ""
        return f"{self.service_root}/$metadata#{entity_set}{sel}" + ("/$entity" if entity else "")
