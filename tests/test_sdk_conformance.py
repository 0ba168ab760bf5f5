"""Microsoft's own Python SDK (msgraph-sdk) reads every collection the Graph emulator serves.

The SDK is the one client in the suite that nobody here wrote: its models are generated from Graph's metadata,
so a value of the wrong shape (an Edm.Binary that is not base64, a date that is not a date) is a parse error,
and a property Graph does not have lands in the model's ``additional_data``. An unknown name there fails the
test, except what is additional data by design: annotations (``@odata.type``, ``@odata.context``,
``members@delta``, ``@removed``) and directory extension properties ``extension_{appId}_{name}``
(https://learn.microsoft.com/graph/extensibility-overview#directory-microsoft-entra-id-extensions).

It runs against the tenant `make demo` generates (seed 2026, 3,000 users, P2 licence), over HTTPS with the
emulator's CA, with a token msal gets from the emulator's token endpoint. Every collection is read twice: with
the default properties and with a $select of every property the emulator knows for the type (less the ones
Graph refuses on a collection: single-GET-only user and group properties); every delta function once, at its
documented path; navigation collections (members, owners, app role assignments) for the first parents.

Not every object of the demo tenant is read: the SDK's models parse about 30 objects a second per core here
(`Entity.get_field_deserializers` runs an import statement for each of Graph's entity types, on every object),
so 3,000 users read three times would take minutes. Each read takes its first PAGES pages, every object on
them parsed in full, following @odata.nextLink as the SDK gives it; the demo tenant's shape (every kind of
user, group, app, credential, policy and log record the generator makes) appears in those pages.
Run with ``-s`` to see the table of objects read, parse errors and unknown properties per collection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import msal
import pytest
import requests
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.directory_objects.get_available_extension_properties.get_available_extension_properties_post_request_body import (  # noqa: E501
    GetAvailableExtensionPropertiesPostRequestBody,
)
from msgraph_core import GraphClientFactory

from entrabackup import objecttypes
from graph_emulator import schema, views
from graph_emulator.control import ssl_context
from graph_emulator.kinds import KINDS
from tests.conftest import FULL_ROLES

# The SDK's own request builders use classes it deprecated itself; that is not ours to fix.
pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

DEMO_SEED, DEMO_USERS = 2026, 3000  # the tenant `make demo` generates (entrabackup's demo module)
EXTENSION = re.compile(r"^extension_[0-9a-f]{32}_\w+$")
PAGES = 2  # pages read of each collection (see the module docstring)
SELECT_PAGE = 50  # $top of the full-$select reads
DEFAULT_TOP = {"auditLogs/signIns": 100}  # sign-ins come 1,000 to a page by default
NAVIGATION_PARENTS = 3


class EmulatorTokens(AccessTokenProvider):
    """Client-credentials tokens from the emulator's token endpoint, through msal (cached by msal)."""

    def __init__(self, url: str, ca_path: str, tenant_id: str, client_id: str, secret: str):
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify= for msal's requests session
        session.verify = ca_path
        self.app = msal.ConfidentialClientApplication(client_id, client_credential=secret,
                                                      authority=f"{url}/{tenant_id}", instance_discovery=False,
                                                      http_client=session)
        self.hosts = AllowedHostsValidator([urlsplit(url).hostname])

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict | None = None) -> str:
        if not self.hosts.is_url_host_valid(uri):
            return ""  # never send the token to another host
        result = self.app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
        if "access_token" not in result:
            raise RuntimeError(f"no token from the emulator: {result.get('error')}")
        return result["access_token"]

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.hosts


@dataclasses.dataclass
class Result:
    collection: str
    objects: int = 0
    parse_errors: list[str] = dataclasses.field(default_factory=list)
    unknown: set[str] = dataclasses.field(default_factory=set)


def unknown_properties(value, path: str = "") -> set[str]:
    """Names in any model's additional_data (at any depth) that are neither annotations nor extensions."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= unknown_properties(item, path)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for name in getattr(value, "additional_data", None) or {}:
            if "@" not in name and not EXTENSION.match(name):
                found.add(f"{path}{name}")
        for f in dataclasses.fields(value):
            if f.name not in ("additional_data", "backing_store"):
                found |= unknown_properties(getattr(value, f.name), f"{path}{f.name}.")
    return found


async def read_all(builder, result: Result, select: list[str] | None = None, top: int | None = None) -> list:
    """The first PAGES pages of a collection with the SDK, following @odata.nextLink."""
    params_class = next(getattr(type(builder), n) for n in dir(type(builder)) if n.endswith("GetQueryParameters"))
    params = params_class(select=select, top=top) if select or top else None
    config = RequestConfiguration(query_parameters=params) if params else None
    items, page_builder = [], builder
    for _ in range(PAGES):
        try:
            page = await page_builder.get(request_configuration=config)
        except Exception as exc:  # noqa: BLE001 - any SDK failure is what this test reports
            result.parse_errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return items
        values = (page.value or []) if hasattr(page, "value") else [page]
        items += values
        result.objects += len(values)
        result.unknown |= unknown_properties(values)
        next_link = getattr(page, "odata_next_link", None)
        if not next_link:
            break
        page_builder, config = builder.with_url(next_link), None
    return items


def full_select(kind: str, extension: str | None = None) -> list[str]:
    """Every property the emulator serves on a collection read of the kind (a log type: of its schema)."""
    names = views.selectable(kind, collection=True) if kind in KINDS else schema.prop_names(kind)
    return names + [extension] if kind == "users" and extension else names


# (label, emulator kind (or schema type) for the full $select, or None for no $select variant, builder)
COLLECTIONS: list[tuple[str, str | None, Callable]] = [
    ("users", "users", lambda c: c.users),
    ("groups", "groups", lambda c: c.groups),
    ("applications", "applications", lambda c: c.applications),
    ("servicePrincipals", "servicePrincipals", lambda c: c.service_principals),
    ("devices", "devices", lambda c: c.devices),
    ("contacts", "orgContacts", lambda c: c.contacts),
    ("directoryRoles", "directoryRoles", lambda c: c.directory_roles),
    ("oauth2PermissionGrants", "oauth2PermissionGrants", lambda c: c.oauth2_permission_grants),
    ("domains", "domains", lambda c: c.domains),
    ("organization", "organization", lambda c: c.organization),
    ("directory/administrativeUnits", "administrativeUnits", lambda c: c.directory.administrative_units),
    ("roleManagement/directory/roleDefinitions", "roleDefinitions",
     lambda c: c.role_management.directory.role_definitions),
    ("roleManagement/directory/roleAssignments", "roleAssignments",
     lambda c: c.role_management.directory.role_assignments),
    ("identity/conditionalAccess/policies", "conditionalAccessPolicies",
     lambda c: c.identity.conditional_access.policies),
    ("identity/conditionalAccess/namedLocations", "namedLocations",
     lambda c: c.identity.conditional_access.named_locations),
    ("auditLogs/directoryAudits", "directoryAudit", lambda c: c.audit_logs.directory_audits),
    ("auditLogs/signIns", "signIn", lambda c: c.audit_logs.sign_ins),
    ("policies/authenticationMethodsPolicy", None, lambda c: c.policies.authentication_methods_policy),
    # The SDK writes the type cast with the metadata's namespace alias: /directory/deletedItems/graph.user.
    ("directory/deletedItems/graph.user", None, lambda c: c.directory.deleted_items.graph_user),
    ("directory/deletedItems/graph.group", None, lambda c: c.directory.deleted_items.graph_group),
    ("directory/deletedItems/graph.application", None, lambda c: c.directory.deleted_items.graph_application),
    ("directory/deletedItems/graph.servicePrincipal", None,
     lambda c: c.directory.deleted_items.graph_service_principal),
    ("directory/deletedItems/graph.administrativeUnit", None,
     lambda c: c.directory.deleted_items.graph_administrative_unit),
]
# Delta functions at their documented paths (https://learn.microsoft.com/graph/api/<type>-delta).
DELTAS: list[tuple[str, Callable]] = [
    ("users/delta", lambda c: c.users.delta),
    ("groups/delta", lambda c: c.groups.delta),
    ("applications/delta", lambda c: c.applications.delta),
    ("servicePrincipals/delta", lambda c: c.service_principals.delta),
    ("devices/delta", lambda c: c.devices.delta),
    ("contacts/delta", lambda c: c.contacts.delta),
    ("directoryRoles/delta", lambda c: c.directory_roles.delta),
    ("oauth2PermissionGrants/delta", lambda c: c.oauth2_permission_grants.delta),
    ("directoryObjects/delta", lambda c: c.directory_objects.delta),
    # The SDK has no root /administrativeUnits builder; the documented path is /administrativeUnits/delta.
    ("administrativeUnits/delta", lambda c: c.directory.administrative_units.delta.with_url(
        c.request_adapter.base_url + "/administrativeUnits/delta")),
]
# Navigation collections, read for the first NAVIGATION_PARENTS parents of each (parent label, child).
NAVIGATIONS: list[tuple[str, str, Callable]] = [
    ("groups", "members", lambda c, i: c.groups.by_group_id(i).members),
    ("groups", "owners", lambda c, i: c.groups.by_group_id(i).owners),
    ("users", "appRoleAssignments", lambda c, i: c.users.by_user_id(i).app_role_assignments),
    ("users", "memberOf", lambda c, i: c.users.by_user_id(i).member_of),
    ("users", "directReports", lambda c, i: c.users.by_user_id(i).direct_reports),
    ("applications", "owners", lambda c, i: c.applications.by_application_id(i).owners),
    ("servicePrincipals", "owners", lambda c, i: c.service_principals.by_service_principal_id(i).owners),
    ("servicePrincipals", "appRoleAssignedTo",
     lambda c, i: c.service_principals.by_service_principal_id(i).app_role_assigned_to),
    ("servicePrincipals", "appRoleAssignments",
     lambda c, i: c.service_principals.by_service_principal_id(i).app_role_assignments),
    ("directoryRoles", "members", lambda c, i: c.directory_roles.by_directory_role_id(i).members),
    ("directory/administrativeUnits", "members",
     lambda c, i: c.directory.administrative_units.by_administrative_unit_id(i).members),
]


def sdk_client(emulator, tenant_id: str, app: dict) -> tuple[GraphServiceClient, httpx.AsyncClient]:
    tokens = EmulatorTokens(emulator.url, emulator.ca_path, tenant_id, app["client_id"], app["client_secret"])
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl_context(emulator.ca_path), trust_env=False, timeout=120))
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(tokens), client=http)
    adapter.base_url = f"{emulator.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter), http


async def conformance(client: GraphServiceClient) -> list[Result]:
    body = GetAvailableExtensionPropertiesPostRequestBody(is_synced_from_on_premises=False)
    registered = await client.directory_objects.get_available_extension_properties.post(body)
    extension = registered.value[0].name if registered and registered.value else None
    results, first = [], {}
    for label, kind, make in COLLECTIONS:
        result = Result(label)
        first[label] = await read_all(make(client), result, top=DEFAULT_TOP.get(label))
        results.append(result)
        if kind:
            selected = Result(f"{label} ($select all)")
            await read_all(make(client), selected, select=full_select(kind, extension), top=SELECT_PAGE)
            results.append(selected)
    for label, make in DELTAS:
        result = Result(label)
        await read_all(make(client), result)
        results.append(result)
    for parent, child, make in NAVIGATIONS:
        result = Result(f"{parent}/{{id}}/{child}")
        for item in first[parent][:NAVIGATION_PARENTS]:
            await read_all(make(client, item.id), result)
        results.append(result)
    return results


def table(results: list[Result]) -> str:
    rows = ["| collection | objects read | parse errors | unknown properties |", "|---|---:|---|---|"]
    for r in results:
        errors = "; ".join(r.parse_errors) or "0"
        rows.append(f"| {r.collection} | {r.objects} | {errors} | {', '.join(sorted(r.unknown)) or '0'} |")
    return "\n".join(rows)


def test_every_path_the_product_reads_is_read_by_the_sdk():
    """Each registry type's collection, delta and recycle-bin path is among the reads above, so a type added
    to entrabackup/objecttypes.py is not left out of this test unnoticed."""
    read = {label for label, _, _ in COLLECTIONS} | {f"{p}/{{id}}/{c}" for p, c, _ in NAVIGATIONS}
    deltas = {label for label, _ in DELTAS}
    missing = [t.path for t in objecttypes.TYPES if t.path.strip("/") not in read]
    missing += [t.delta_path for t in objecttypes.TYPES if t.delta_path and t.delta_path.strip("/") not in deltas]
    missing += [t.deleted_path for t in objecttypes.TYPES if t.deleted_path  # the SDK's alias of the namespace
                and t.deleted_path.strip("/").replace("microsoft.graph.", "graph.") not in read]
    assert not missing, f"add to COLLECTIONS / DELTAS / NAVIGATIONS: {missing}"


def _graph_delete(emulator, tenant_id: str, app: dict, path: str) -> None:
    """DELETE through the emulator's Graph API (the control plane deletes only users and groups)."""
    tokens = EmulatorTokens(emulator.url, emulator.ca_path, tenant_id, app["client_id"], app["client_secret"])
    token = tokens.app.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
    with httpx.Client(verify=ssl_context(emulator.ca_path), trust_env=False) as http:
        http.delete(f"{emulator.url}/v1.0{path}", headers={"Authorization": f"Bearer {token}"}).raise_for_status()


@pytest.fixture(scope="module")
def demo_sized_tenant(emulator):
    """The demo tenant, with a few users, a Microsoft 365 group, an application, a service principal and an
    administrative unit in the recycle bin (every type the product lists there)."""
    info = emulator.control.create_tenant(seed=DEMO_SEED, users=DEMO_USERS, licence="P2", name="Contoso")
    tid = info["tenant_id"]
    app = emulator.control.register_app(tid, roles=FULL_ROLES, display_name="msgraph-sdk conformance")
    emulator.control.mutate(tid, "mass_delete_users", count=5, seed=9)
    export = emulator.control.export(tid)
    unified = next(g for g in export["groups"] if "Unified" in g["groupTypes"])
    emulator.control.mutate(tid, "delete_group", id=unified["id"])
    ours = app["client_id"]
    application = next(a for a in export["applications"] if a["appId"] != ours)
    principal = next(s for s in export["servicePrincipals"] if s["appId"] not in (ours, application["appId"]))
    _graph_delete(emulator, tid, app, f"/applications/{application['id']}")
    _graph_delete(emulator, tid, app, f"/servicePrincipals/{principal['id']}")
    _graph_delete(emulator, tid, app, f"/directory/administrativeUnits/{export['administrativeUnits'][0]['id']}")
    return info, app


def test_msgraph_sdk_reads_every_collection_without_parse_errors_or_unknown_properties(
        emulator, demo_sized_tenant, record_property):
    info, app = demo_sized_tenant

    async def run():
        client, http = sdk_client(emulator, info["tenant_id"], app)
        try:
            return await conformance(client)
        finally:
            await http.aclose()

    # Its own thread and event loop: Playwright's sync API (browser tests in the same session) keeps a loop
    # running in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.submit(asyncio.run, run()).result()
    report = table(results)
    print(f"\nmsgraph-sdk conformance against the demo-sized tenant ({DEMO_USERS} users)\n{report}")
    record_property("sdk_conformance", report)
    Path(emulator.state_dir, "sdk-conformance.md").write_text(report + "\n")
    assert not [r for r in results if r.parse_errors or r.unknown], report
    assert all(r.objects for r in results if "{id}" not in r.collection), report  # every collection has objects
