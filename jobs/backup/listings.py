"""Collectors for the types read in full every session: they have no delta query (or none worth its
token), are small, and unchanged objects cost nothing in the repository (same content hash, no new row).

Each gives the complete listing to ``put_full`` (objects missing are deleted).
"""

from __future__ import annotations

from collections.abc import Iterator

from entrabackup import objecttypes
from entrabackup.graph import list_params, select_for

from .common import Pager, TypeResult, prefetched, target_type
from .owners import EXPAND_LIMIT


def backup_listed_type(client, writer, object_type: str, pager: Pager) -> TypeResult:
    if object_type == "appRoleAssignment":
        return _app_role_assignments(client, writer, pager)
    if object_type == "authenticationMethodsPolicy":
        return _auth_methods_policy(client, writer, pager)
    spec = objecttypes.get(object_type)  # path and page size: the registry (Conditional Access asks for 999)
    pages = client.iter_pages(spec.path, list_params(spec.graph_type))
    if object_type == "directoryRole":
        return _directory_roles(client, writer, pager, pages)
    counts = writer.put_full(object_type, pager.values(pages))
    return TypeResult(object_type, "full", counts.as_dict())


def _directory_roles(client, writer, pager: Pager, pages) -> TypeResult:
    """Activated roles and their members. Neither list pages (https://learn.microsoft.com/graph/api/directoryrole-list):
    https://learn.microsoft.com/graph/api/directoryrole-list-members"""
    roles = list(pager.values(pages))
    counts = writer.put_full("directoryRole", roles)
    pairs, missing = [], 0
    for chunk in pager.batches([r["id"] for r in roles]):
        paths = [f"/directoryRoles/{rid}/members" for rid in chunk]
        for rid, (_, members) in zip(chunk, client.get_collections(paths, params={"$select": "id"}), strict=True):
            if members is None:
                missing += 1
                continue
            pairs.extend((rid, m["id"], target_type(m)) for m in members)
    added = writer.put_relations_full("directory_role_member", pairs, None)
    result = TypeResult("directoryRole", "full", counts.as_dict(),
                        {"directory_role_member": {"pairs": len(pairs), "added": added}})
    if missing:
        result.warnings.append(f"{missing} directory role(s) disappeared before their members could be read.")
    return result


def _app_role_assignments(client, writer, pager: Pager) -> TypeResult:
    """Every app role granted to a user, group or service principal, read from the resource side and keyed
    by the assignment id. The service principal listing expands them
    (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto as a navigation property):
    one request per 100 service principals (the parent page size with $expand, https://learn.microsoft.com/graph/query-parameters#expand) instead of one
    $batch per 20 — a fixed cost every session, since assignments have no delta query. $expand returns at
    most 20 items, so a service principal that comes back with 20 has its assignments read in full."""
    warnings: list[str] = []
    counts = writer.put_full("appRoleAssignment", _assignments(client, pager, warnings))
    return TypeResult("appRoleAssignment", "full", counts.as_dict(), warnings=warnings)


def _assignments(client, pager: Pager, warnings: list[str]) -> Iterator[dict]:
    select = ",".join(select_for("appRoleAssignment"))
    params = {"$select": "id", "$expand": f"appRoleAssignedTo($select={select})"}
    truncated: list[str] = []
    for page in pager.pages(prefetched(client.iter_pages("/servicePrincipals", params)), count=False):
        read = 0
        for sp in page.get("value", ()):
            items = sp.get("appRoleAssignedTo") or []
            if len(items) >= EXPAND_LIMIT:  # maybe cut off at 20: read in full below
                truncated.append(sp["id"])
                continue
            read += len(items)
            yield from map(_assignment, items)
        pager.page(read)
    yield from _assignments_of(client, truncated, pager, warnings)


def _assignments_of(client, sp_ids: list[str], pager: Pager, warnings: list[str]) -> Iterator[dict]:
    """/servicePrincipals/{id}/appRoleAssignedTo of the given service principals, 20 per $batch."""
    params = {"$select": ",".join(select_for("appRoleAssignment")), "$top": "999"}
    missing = 0
    for chunk in pager.batches(sp_ids):
        paths = [f"/servicePrincipals/{sp}/appRoleAssignedTo" for sp in chunk]
        read = 0
        for _, items in client.get_collections(paths, params=params):
            if items is None:  # the service principal was deleted since it was listed
                missing += 1
                continue
            read += len(items)
            yield from map(_assignment, items)
        pager.page(read)
    if missing:
        warnings.append(f"{missing} service principal(s) disappeared before their assignments could be read.")


def _assignment(item: dict) -> dict:
    """The same content whichever way it was read: an expanded item may carry @odata.type, which the
    repository would hash (it keeps that annotation), while a direct read does not. The collection holds
    one entity type, so the annotation says nothing."""
    if "@odata.type" in item:
        return {k: v for k, v in item.items() if k != "@odata.type"}
    return item


def _auth_methods_policy(client, writer, pager: Pager) -> TypeResult:
    """The tenant's single authentication methods policy, stored as one object (its method configurations,
    each with @odata.type, inside it): https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get .
    No query options: the API documents none (https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get)."""
    pager.check()
    policy = client.get(objecttypes.get("authenticationMethodsPolicy").path)
    pager.page(1)
    counts = writer.put_full("authenticationMethodsPolicy", [policy])
    return TypeResult("authenticationMethodsPolicy", "full", counts.as_dict())
