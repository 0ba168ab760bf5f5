"""Projection of stored (sparse) objects into Graph's JSON representation.

Stored objects only hold properties that are set; Graph returns null / [] for unset selected properties,
so a per-(kind, $select) plan of (name, empty value) pairs is precomputed and reused (hot path).
"""

from __future__ import annotations

import functools

from graph_emulator import schema
from graph_emulator.common import GraphError
from graph_emulator.kinds import KINDS

# Returned only by GET /users/{id}; selecting them on the collection -> 501 (https://learn.microsoft.com/graph/api/user-list).
USER_SINGLE_ONLY = ("aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
                    "responsibilities", "schools", "skills", "mailboxSettings")
NEVER_RETURNED = {"hasMembersWithLicenseErrors"}  # filter-only (https://learn.microsoft.com/graph/api/user-list#optional-query-parameters)
ALWAYS_NULL = {"passwordProfile"}  # writable, never readable back (https://learn.microsoft.com/graph/api/user-post-users)
GROUP_SINGLE_ONLY = ("allowExternalSenders", "autoSubscribeNewMembers", "hideFromAddressLists",
                     "hideFromOutlookClients", "isSubscribedByMail", "unseenCount")
# An application's keyCredentials.key (public cert blob) only comes back when explicitly selected (https://learn.microsoft.com/graph/api/resources/keycredential).


def _empty(edm: str):
    return () if schema.is_collection(edm) else None


@functools.cache
def props_of(type_name: str) -> dict[str, str]:
    if type_name == "namedLocation":  # polymorphic: base + both subtypes
        return {**schema.prop_types("ipNamedLocation"), **schema.prop_types("countryNamedLocation")}
    return schema.prop_types(type_name)


# The documented group list example (examples/list-groups.json, docs-2021) also returns these by default.
GROUP_DEFAULT_EXTRA = ("deletedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions")


@functools.cache
def default_set(kind: str) -> tuple[str, ...]:
    t = KINDS[kind].type
    d = schema.default_props(t)
    if kind == "groups":
        d = list(d) + list(GROUP_DEFAULT_EXTRA)
    names = d if d is not None else [p for p in props_of(t) if p not in NEVER_RETURNED]
    return tuple(n for n in props_of(t) if n in names) if d is None else tuple(d)


def single_only(kind: str) -> tuple[str, ...]:
    return {"users": USER_SINGLE_ONLY, "groups": GROUP_SINGLE_ONLY}.get(kind, ())


def selectable(kind: str, collection: bool = True) -> list[str]:
    """Every property a request may $select (on a collection when collection=True)."""
    skip = set(single_only(kind)) if collection else set()
    return [p for p in props_of(KINDS[kind].type) if p not in skip and p not in NEVER_RETURNED]


@functools.cache
def plan(kind: str, select: tuple[str, ...] | None) -> tuple[tuple[str, object], ...]:
    types = props_of(KINDS[kind].type)
    names = default_set(kind) if select is None else select
    out = []
    for n in names:
        if n in NEVER_RETURNED:
            continue
        out.append((n, _empty(types[n]) if n in types else None))
    if "id" not in names:  # Graph always returns id
        out.insert(0, ("id", None))
    return tuple(out)


def check_select(kind: str, select: list[str] | None, collection: bool, premium: bool) -> None:
    """501 for single-GET-only props on lists; 403 for signInActivity without P1/P2; 400 for unknown props."""
    if not select:
        return
    types = props_of(KINDS[kind].type)
    for name in select:
        if name in ("*",):
            continue
        if name not in types and not (kind == "users" and name.startswith("extension_")):
            raise GraphError(400, "Request_BadRequest",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{KINDS[kind].type}'.")
        if collection and name in single_only(kind):
            raise GraphError(501, "NotImplemented", "This operation target is not yet supported.")
        if name == "signInActivity" and not premium:
            raise GraphError(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                             "Neither tenant is B2C or tenant doesn't have premium license")


def normalize_select(kind: str, select: list[str] | None) -> tuple[str, ...] | None:
    if not select:
        return None
    if "*" in select:
        return tuple(selectable(kind, collection=False))
    return tuple(dict.fromkeys(select))


def project(kind: str, obj: dict, select: tuple[str, ...] | None, typed: bool = False) -> dict:
    out = {"@odata.type": obj["@odata.type"]} if "@odata.type" in obj else (
        {"@odata.type": KINDS[kind].odata_type} if typed else {})
    if kind == "namedLocations":
        own = props_of(obj["@odata.type"].removeprefix("#microsoft.graph."))
        for n, empty in plan(kind, select):
            if n in own:
                out[n] = obj.get(n, empty)
        return out
    for n, empty in plan(kind, select):
        out[n] = None if n in ALWAYS_NULL else obj.get(n, empty)
    if kind == "servicePrincipals" and "keyCredentials" in out and (select is None or "keyCredentials" not in select):
        out["keyCredentials"] = [dict(k, key=None) for k in out["keyCredentials"]]
    return out


def full(kind: str, obj: dict) -> dict:
    """Everything a full $select returns (used by the control-plane export = ground truth)."""
    sel = tuple(selectable(kind, collection=False))
    if kind == "users":
        sel += tuple(k for k in obj if k.startswith("extension_"))
    return project(kind, obj, sel)
