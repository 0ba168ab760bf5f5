"""Every request the product's Graph client makes, listed so a reviewer can hold it against Microsoft Learn
(docs/graph-paths.md gives the page of each), and a backup that requests nothing else."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path

import httpx

from entrabackup import objecttypes

# The documented request paths ("HTTP request" section of each page in docs/graph-paths.md); {id} is an
# object id. A change here is a change of what the product asks Graph: check it against the docs.
DOCUMENTED = [
    "GET /administrativeUnits/delta",                                  # administrativeunit-delta
    "GET /applications",                                               # application-list ($expand=owners)
    "GET /applications/delta",                                         # application-delta
    "GET /applications/{id}/owners",                                   # application-list-owners
    "GET /auditLogs/signIns",                                          # signin-list
    "GET /contacts/delta",                                             # orgcontact-delta
    "GET /devices/delta",                                              # device-delta
    "GET /directory/deletedItems/microsoft.graph.administrativeUnit",  # directory-deleteditems-list
    "GET /directory/deletedItems/microsoft.graph.application",
    "GET /directory/deletedItems/microsoft.graph.group",
    "GET /directory/deletedItems/microsoft.graph.servicePrincipal",
    "GET /directory/deletedItems/microsoft.graph.user",
    "GET /directoryRoles",                                             # directoryrole-list
    "GET /directoryRoles/{id}/members",                                # directoryrole-list-members
    "GET /domains",                                                    # domain-list
    "GET /groups",                                                     # group-list ($expand=owners)
    "GET /groups/delta",                                               # group-delta
    "GET /groups/{id}/owners",                                         # group-list-owners
    "GET /identity/conditionalAccess/namedLocations",                  # conditionalaccessroot-list-namedlocations
    "GET /identity/conditionalAccess/policies",                        # conditionalaccessroot-list-policies
    "GET /oauth2PermissionGrants",                                     # oauth2permissiongrant-list
    "GET /organization",                                               # organization-list
    "GET /policies/authenticationMethodsPolicy",                       # authenticationmethodspolicy-get
    "GET /roleManagement/directory/roleAssignments",                   # rbacapplication-list-roleassignments
    "GET /roleManagement/directory/roleDefinitions",                   # rbacapplication-list-roledefinitions
    "GET /servicePrincipals",                                          # serviceprincipal-list ($expand)
    "GET /servicePrincipals/delta",                                    # serviceprincipal-delta
    "GET /servicePrincipals/{id}/appRoleAssignedTo",                   # serviceprincipal-list-approleassignedto
    "GET /servicePrincipals/{id}/owners",                              # serviceprincipal-list-owners
    "GET /users/delta",                                                # user-delta
    "POST /$batch",                                                    # json-batching
    "POST /directoryObjects/getAvailableExtensionProperties",          # directoryobject-getavailableextensionproperties
]
# Made by the tenant connection test (tenants/services.py), not by a backup.
CONNECTION_TEST_ONLY = {"GET /auditLogs/signIns"}
# Read only for a service principal whose expanded assignments hit $expand's 20 (none in this tenant).
LARGE_OBJECTS_ONLY = {"GET /servicePrincipals/{id}/appRoleAssignedTo"}

ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=/|$)", re.IGNORECASE)


class RecordingTransport(httpx.BaseTransport):
    """Sends requests on and records each as "METHOD /path", ids as {id}; $batch sub-requests included."""

    def __init__(self, ca_path: str):
        self._inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=ca_path))
        self.requests: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1.0")
        self._record(request.method, path)
        if path == "/$batch":
            for sub in json.loads(request.read())["requests"]:
                self._record(sub["method"], sub["url"].split("?", 1)[0])
        return self._inner.handle_request(request)

    def _record(self, method: str, path: str) -> None:
        self.requests.add(f"{method} {ID.sub('/{id}', path)}")

    def close(self) -> None:
        self._inner.close()


GRAPH_PATHS_DOC = Path(__file__).resolve().parents[3] / "docs" / "graph-paths.md"


def documented_in_markdown(text: str) -> list[str]:
    """The requests in the first column of docs/graph-paths.md's table: "`GET /path`", and for a row
    "`GET /a/b.c` (also `.d`, `.e`)" also /a/b.d and /a/b.e."""
    requests = []
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split(" | ", 1)[0].removeprefix("| ")
        first, *also = re.findall(r"`([^`]+)`", cell)
        requests.append(first)
        stem = first.rsplit(".", 1)[0]
        requests += [stem + suffix for suffix in also if suffix.startswith(".")]
    return sorted(requests)


def test_the_client_requests_list_is_derived_from_the_registry():
    assert objecttypes.request_paths() == DOCUMENTED


def test_docs_graph_paths_lists_every_request_and_nothing_else():
    assert documented_in_markdown(GRAPH_PATHS_DOC.read_text()) == objecttypes.request_paths()


def test_the_markdown_reader_sees_a_missing_or_extra_row():
    text = GRAPH_PATHS_DOC.read_text()
    without_devices = "\n".join(line for line in text.splitlines() if "`GET /devices/delta`" not in line)
    assert "GET /devices/delta" not in documented_in_markdown(without_devices)
    assert "GET /contacts" in documented_in_markdown(text + "\n| `GET /contacts` | x | y |\n")


def test_a_full_and_an_incremental_backup_request_only_documented_paths(new_tenant, emu):
    recorder = RecordingTransport(emu.ca_path)
    t = new_tenant(60, transport=recorder)
    export = t.emu.control.export(t.tid)
    users = [u["id"] for u in export["users"]]
    # An object with more owners than $expand returns (20) has its /owners read, 20 objects per $batch.
    for kind, owners in (("groups", "group_owners"), ("applications", "application_owners"),
                         ("servicePrincipals", "servicePrincipal_owners")):
        oid = export[kind][0]["id"]
        for user in [u for u in users if u not in export[owners].get(oid, ())][:21]:
            t.mutate("add_owner", object_id=oid, owner_id=user)
    t.backup(full=True)
    t.mutate("update_user", id=users[5], properties={"jobTitle": "Chief Backup Officer"})
    t.backup(full=False)
    assert recorder.requests == set(DOCUMENTED) - CONNECTION_TEST_ONLY - LARGE_OBJECTS_ONLY
