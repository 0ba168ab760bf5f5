"""OData query options for directory collections: parsing/validation ($select, $top, $filter, $count,
$search, $orderby, $expand), projection to Graph's representation and opaque paging tokens."""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from dataclasses import dataclass, field

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from graph_emulator import ofilter
from graph_emulator.common import GraphError, bad_request

KNOWN = {"$select", "$filter", "$top", "$count", "$search", "$orderby", "$expand", "$skiptoken", "$deltatoken",
         "$skip", "$format"}


@dataclass
class Query:
    raw: list[tuple[str, str]]  # original (key, value) pairs, for nextLinks
    opts: dict[str, str] = field(default_factory=dict)  # canonical lower-case '$key' -> value
    eventual: bool = False

    def get(self, key: str, default=None):
        return self.opts.get(key, default)

    @property
    def select(self) -> list[str] | None:
        sel = self.opts.get("$select")
        return [s.strip() for s in sel.split(",") if s.strip()] if sel else None

    @property
    def count(self) -> bool:
        """$count=true only counts with ConsistencyLevel: eventual; without it it's silently ignored (https://learn.microsoft.com/graph/aad-advanced-queries)."""
        return self.opts.get("$count", "").lower() == "true" and self.eventual

    @property
    def advanced(self) -> bool:
        return self.eventual and self.opts.get("$count", "").lower() == "true"


def parse_query(query_string: str, headers) -> Query:
    raw = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    opts = {}
    for k, v in raw:
        key = k.lower() if k.startswith("$") else "$" + k.lower()
        if key in KNOWN:
            opts[key] = v
    return Query(raw, opts, (headers.get("ConsistencyLevel") or "").lower() == "eventual")


def top(q: Query, default: int, maximum: int = 999) -> int:
    """$top bounds with the real error text (https://learn.microsoft.com/graph/paging)."""
    value = q.get("$top")
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise bad_request(f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.") from None
    if not 1 <= n <= maximum:
        raise bad_request(f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.")
    return n


def check_search(q: Query) -> None:
    if q.get("$search") is not None and not q.eventual:
        raise GraphError(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through "
                         "MSGraph with a special request header: 'ConsistencyLevel: eventual'")


def compile_filter(q: Query, directory: bool = True):
    """Predicate for $filter, or None. ne/not/endswith need advanced query parameters on directory objects."""
    text = q.get("$filter")
    if not text:
        return None
    pred, ops, _ = ofilter.compile_filter(text)
    if directory and ops & ofilter.ADVANCED_OPS and not q.advanced:
        raise GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
    return pred


SEARCH_CLAUSE = re.compile(r'"([A-Za-z]+):([^"]*)"')


def compile_search(q: Query):
    """$search="displayName:wa" OR "mail:x" -> word-prefix match, case-insensitive (tokenized like Entra)."""
    text = q.get("$search")
    if not text:
        return None
    clauses = SEARCH_CLAUSE.findall(text)
    if not clauses:
        raise bad_request("Invalid $search query.", "Request_UnsupportedQuery")
    use_and = " AND " in text

    def match(obj: dict, prop: str, term: str) -> bool:
        words = re.split(r"[^0-9a-z]+", str(obj.get(prop) or "").lower())
        return any(w.startswith(term.lower()) for w in words if w) or str(obj.get(prop) or "").lower().startswith(term.lower())

    results = (lambda o: all(match(o, p, t) for p, t in clauses)) if use_and else (
        lambda o: any(match(o, p, t) for p, t in clauses))
    return results


def validate_select(sel: list[str] | None, allowed: set[str], type_name: str, open_type: bool = False) -> None:
    for name in sel or ():
        base = name.split("/")[-1]
        if base not in allowed and not (open_type and base.startswith("extension_")) and "@" not in base:
            raise bad_request(f"Could not find a property named '{base}' on type 'microsoft.graph.{type_name}'.")


# ---- opaque paging tokens ---------------------------------------------------------------------------------
class TokenCodec:
    """AES-GCM sealed JSON so skip/delta tokens leak nothing (no offsets, no ids) and can't be forged."""

    def __init__(self, key_material: str):
        self._aead = AESGCM(base64.urlsafe_b64decode(key_material + "=" * (-len(key_material) % 4))[:32].ljust(32, b"\0"))

    def seal(self, payload: dict, bind: str) -> str:
        nonce = os.urandom(12)
        data = self._aead.encrypt(nonce, orjson.dumps(payload), bind.encode())
        return base64.urlsafe_b64encode(nonce + data).decode().rstrip("=")

    def open(self, token: str, bind: str) -> dict | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return orjson.loads(self._aead.decrypt(raw[:12], raw[12:], bind.encode()))
        except (ValueError, InvalidTag, orjson.JSONDecodeError):
            return None


def next_link(base_url: str, path: str, q: Query, token_key: str, token: str) -> str:
    """Same path + every original query option except old tokens, + the new token (https://learn.microsoft.com/graph/paging)."""
    keep = [(k, v) for k, v in q.raw if k.lower().lstrip("$") not in ("skiptoken", "deltatoken")]
    keep.append((token_key, token))
    return f"{base_url}{path}?" + urllib.parse.urlencode(keep, quote_via=urllib.parse.quote, safe="$,()'=:/")
