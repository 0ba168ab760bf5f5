"""Owners of groups, applications and service principals (relations group_owner / app_owner / sp_owner).

Owners are not tracked by delta query (only `members` of groups/AUs and `manager` of users are, https://learn.microsoft.com/graph/delta-query-overview),
so they are read separately:
- full rounds: the collection with `$expand=owners($select=id)` — https://learn.microsoft.com/graph/api/group-list
  (also application-list, serviceprincipal-list). `$expand` returns at most 20 related items and no nextLink
  (https://learn.microsoft.com/graph/query-parameters#expand), so an object that comes back with 20 owners has its `/owners` read in full.
- delta rounds: `/{collection}/{id}/owners` only for the objects the round reported, 20 per `$batch`
  (https://learn.microsoft.com/graph/api/group-list-owners, application-list-owners, serviceprincipal-list-owners).
"""

from __future__ import annotations

from collections.abc import Iterable

from .common import Pager, prefetched, target_type

EXPAND_LIMIT = 20  # $expand returns at most 20 items (https://learn.microsoft.com/graph/query-parameters#expand)
ID_ONLY = {"$select": "id"}


def read_all_owners(client, collection: str, pager: Pager) -> tuple[list[tuple], list[str]]:
    """Every (object id, owner id, owner type) of the collection; second value: warnings."""
    pairs: list[tuple] = []
    truncated: list[str] = []
    params = {"$select": "id", "$expand": "owners($select=id)"}
    for page in pager.pages(prefetched(client.iter_pages(collection, params)), count=False):
        for obj in page.get("value", ()):
            owners = obj.get("owners") or []
            if len(owners) >= EXPAND_LIMIT:  # maybe cut off at 20: read this object's owners in full below
                truncated.append(obj["id"])
                continue
            pairs.extend((obj["id"], o["id"], target_type(o)) for o in owners)
    more, warnings = read_owners_of(client, collection, truncated, pager)
    return pairs + more, warnings


def read_owners_of(client, collection: str, ids: Iterable[str], pager: Pager) -> tuple[list[tuple], list[str]]:
    """Owners of the given objects, read with $batch (20 sub-requests per POST); objects that are gone
    (404) have none. Returns (pairs, warnings)."""
    pairs: list[tuple] = []
    missing = 0
    for chunk in pager.batches(list(dict.fromkeys(ids))):
        paths = [f"{collection}/{oid}/owners" for oid in chunk]
        for oid, (_, items) in zip(chunk, client.get_collections(paths, params=ID_ONLY), strict=True):
            if items is None:
                missing += 1
                continue
            pairs.extend((oid, o["id"], target_type(o)) for o in items)
    warnings = [f"{missing} object(s) disappeared before their owners could be read."] if missing else []
    return pairs, warnings
