"""Collectors for the types read in full every session: they have no delta query (or none worth its
token), are small, and unchanged objects cost nothing in the repository (same content hash, no new row).

Each gives the complete listing to ``put_full`` (objects missing are deleted).
"""

from __future__ import annotations

from collections.abc import Iterator

from entrabackup.graph import collection_for, list_params, select_for

from .common import Pager, TypeResult, counts_dict, target_type

# Our object type -> the Graph client's property/collection name (entrabackup/graph/properties.py).
GRAPH_TYPE = {
    "oauth2PermissionGrant": "oAuth2PermissionGrant",  # https://learn.microsoft.com/graph/api/oauth2permissiongrant-list
    "directoryRole": "directoryRole",  # https://learn.microsoft.com/graph/api/directoryrole-list
    "roleDefinition": "unifiedRoleDefinition",  # https://learn.microsoft.com/graph/api/rbacapplication-list-roledefinitions
    "roleAssignment": "unifiedRoleAssignment",  # https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments
    "conditionalAccessPolicy": "conditionalAccessPolicy",  # https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies
    "namedLocation": "namedLocation",  # https://learn.microsoft.com/graph/api/conditionalaccessroot-list-namedlocations
    "domain": "domain",  # https://learn.microsoft.com/graph/api/domain-list
    "organization": "organization",  # https://learn.microsoft.com/graph/api/organization-list
}
# Conditional Access is throttled to 1 request/s per tenant (FACTS §4.2): ask for the largest page the
# list APIs document ($top is supported there) so a tenant's policies come in one request.
LARGE_PAGE = {"conditionalAccessPolicy": "999", "namedLocation": "999"}


def backup_listed_type(client, writer, object_type: str, pager: Pager) -> TypeResult:
    if object_type == "appRoleAssignment":
        return _app_role_assignments(client, writer, pager)
    if object_type == "authenticationMethodsPolicy":
        return _auth_methods_policy(client, writer, pager)
    graph_type = GRAPH_TYPE[object_type]
    params = list_params(graph_type)
    if object_type in LARGE_PAGE:
        params["$top"] = LARGE_PAGE[object_type]
    pages = client.iter_pages(collection_for(graph_type).path, params)
    if object_type == "directoryRole":
        return _directory_roles(client, writer, pager, pages)
    counts = writer.put_full(object_type, pager.values(pages))
    return TypeResult(object_type, "full", counts_dict(counts))


def _directory_roles(client, writer, pager: Pager, pages) -> TypeResult:
    """Activated roles and their members. Neither list pages (FACTS §1.1):
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
    result = TypeResult("directoryRole", "full", counts_dict(counts),
                        {"directory_role_member": {"pairs": len(pairs), "added": added if isinstance(added, int) else 0}})
    if missing:
        result.warnings.append(f"{missing} directory role(s) disappeared before their members could be read.")
    return result


def _app_role_assignments(client, writer, pager: Pager) -> TypeResult:
    """Every app role granted to a user, group or service principal, read from the resource side:
    https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto , 20 service principals
    per $batch. Keyed by the assignment id."""
    sp_pages = client.iter_pages("/servicePrincipals", {"$select": "id", "$top": "999"})
    sp_ids = [sp["id"] for page in pager.pages(sp_pages, count=False) for sp in page.get("value", ())]
    warnings: list[str] = []
    counts = writer.put_full("appRoleAssignment", _assignments(client, sp_ids, pager, warnings))
    return TypeResult("appRoleAssignment", "full", counts_dict(counts), warnings=warnings)


def _assignments(client, sp_ids: list[str], pager: Pager, warnings: list[str]) -> Iterator[dict]:
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
            yield from items
        pager.page(read)
    if missing:
        warnings.append(f"{missing} service principal(s) disappeared before their assignments could be read.")


def _auth_methods_policy(client, writer, pager: Pager) -> TypeResult:
    """The tenant's single authentication methods policy, stored as one object (its method configurations,
    each with @odata.type, inside it): https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get .
    No query options: the API documents none (FACTS §1.1)."""
    pager.check()
    policy = client.get(collection_for("authenticationMethodsPolicy").path)
    pager.page(1)
    counts = writer.put_full("authenticationMethodsPolicy", [policy])
    return TypeResult("authenticationMethodsPolicy", "full", counts_dict(counts))
