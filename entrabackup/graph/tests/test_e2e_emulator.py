"""End-to-end: the real msal and GraphClient against the Graph emulator (real HTTPS, tokens, paging, faults)."""

from __future__ import annotations

import time
import uuid

import pytest

from entrabackup.graph import (
    ClientSecret,
    DeltaExpiredError,
    GraphClient,
    InvalidCredentialError,
    PacingLimits,
    PermissionDeniedError,
    TenantNotFoundError,
    custom_cloud,
    generate_self_signed,
)

try:
    from graph_emulator.testing import running_emulator
except ImportError as exc:  # only a missing module skips; any other error must fail loudly
    running_emulator, _IMPORT_ERROR = None, exc

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        running_emulator is None,
        reason=f"graph_emulator.testing is not importable yet ({globals().get('_IMPORT_ERROR')})",
    ),
]

READ_ROLES = ["Directory.Read.All", "User.Read.All", "Group.Read.All", "Application.Read.All",
              "AuditLog.Read.All", "Policy.Read.All", "RoleManagement.Read.Directory"]
USERS = 2500


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("graph-emulator")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def cloud(emu):
    return custom_cloud(emu.url, emu.url, emu.ca_path, name="emulator")


def new_tenant(emu, users=USERS, seed=1, **kwargs) -> str:
    return emu.control.create_tenant(seed=seed, users=users, **kwargs)["tenant_id"]


def new_app(emu, tenant_id, roles=READ_ROLES, **kwargs) -> dict:
    return emu.control.register_app(tenant_id, display_name=f"entrabackup-e2e-{uuid.uuid4().hex[:6]}", roles=roles, **kwargs)


def client_for(cloud, tenant_id, app, **kwargs) -> GraphClient:
    return GraphClient(cloud, tenant_id, app["client_id"], ClientSecret(app["client_secret"]), **kwargs)


def true_ids(emu, tenant_id, kind="users") -> set[str]:
    """Ids of ``kind`` in the emulator's ground truth export."""
    exported = emu.control.export(tenant_id)
    objects = exported.get(kind)
    if objects is None and isinstance(exported.get("objects"), dict):
        objects = exported["objects"].get(kind)
    assert objects is not None, f"export has no {kind!r}: keys {sorted(exported)}"
    return {o["id"] for o in (objects.values() if isinstance(objects, dict) else objects)}


@pytest.fixture(scope="module")
def tenant(emu):
    return new_tenant(emu)


@pytest.fixture(scope="module")
def app(emu, tenant):
    return new_app(emu, tenant)


def test_secret_auth_full_user_listing_equals_ground_truth(emu, cloud, tenant, app):
    with client_for(cloud, tenant, app) as graph:
        users = list(graph.list_all("user"))
        claims = graph.token_claims()
    assert {u["id"] for u in users} == true_ids(emu, tenant)
    assert len(users) == len({u["id"] for u in users})
    assert "accountEnabled" in users[0]  # a non-default property came back thanks to $select
    assert claims.tenant_id == tenant and "User.Read.All" in claims.roles
    assert graph.stats.requests >= 3 and graph.stats.throttled_429 == 0


def test_paging_over_many_small_pages_equals_ground_truth(emu, cloud, tenant, app):
    with client_for(cloud, tenant, app) as graph:
        pages = list(graph.iter_pages("/users", {"$select": "id,displayName", "$top": "100"}))
    assert len(pages) == -(-USERS // 100)
    assert {u["id"] for p in pages for u in p["value"]} == true_ids(emu, tenant)


def test_certificate_auth(emu, cloud, tenant):
    generated = generate_self_signed("entrabackup-e2e")
    app = new_app(emu, tenant, secret=False, certificate_pem=generated.certificate_pem)
    with GraphClient(cloud, tenant, app["client_id"], generated.credential()) as graph:
        assert graph.get("/organization")["value"][0]["id"] == tenant


def test_wrong_secret_is_an_invalid_credential(emu, cloud, tenant, app):
    bad = {**app, "client_secret": "definitely-not-the-secret"}
    with client_for(cloud, tenant, bad) as graph, pytest.raises(InvalidCredentialError) as caught:
        graph.get("/users", {"$top": "1"})
    assert "definitely-not-the-secret" not in str(caught.value)


def test_unknown_tenant_is_tenant_not_found(cloud, app):
    with client_for(cloud, str(uuid.uuid4()), app) as graph, pytest.raises(TenantNotFoundError):
        graph.get("/users")


def test_missing_permission_names_what_to_grant(emu, cloud, tenant):
    app = new_app(emu, tenant, roles=["User.Read.All"])
    with client_for(cloud, tenant, app) as graph:
        graph.get("/users", {"$top": "1"})
        with pytest.raises(PermissionDeniedError) as caught:
            graph.get("/groups")
        assert "directory_backup" in graph.missing_permissions()
    assert caught.value.needed == ["Group.Read.All"] and "admin consent" in caught.value.hint


def test_batch_reads(emu, cloud, tenant, app):
    ids = sorted(true_ids(emu, tenant))[:45]
    with client_for(cloud, tenant, app) as graph:
        results = graph.batch([{"method": "GET", "url": f"/users/{i}?$select=id"} for i in ids])
    assert [r["status"] for r in results] == [200] * 45
    assert [r["body"]["id"] for r in results] == ids


# 1,500 users in pages of 50 = 30 requests of 1 RU (GET users 2, $select -1) against 20 RU per 10 s:
# about 10 requests over budget, i.e. ~5 s of real waiting.
STORM_USERS, STORM_PAGE, STORM_BUDGET = 1500, "50", 20


def test_429_storm_completes_listing_and_counts_throttling(emu, cloud):
    tenant = new_tenant(emu, users=STORM_USERS, seed=3)
    app = new_app(emu, tenant)
    emu.control.configure(tenant, throttling={"enabled": True, "ru_per_10s": STORM_BUDGET})
    # Pacing sized for a large tenant on purpose: the server's tiny budget must produce real 429s.
    with client_for(cloud, tenant, app, pacing=PacingLimits(resource_units=8000)) as graph:
        ids = {u["id"] for u in graph.iter_values("/users", {"$select": "id", "$top": STORM_PAGE})}
    assert ids == true_ids(emu, tenant)
    assert graph.stats.throttled_429 > 0 and graph.stats.retries >= graph.stats.throttled_429


def test_pacing_avoids_the_429s_when_it_knows_the_budget(emu, cloud):
    tenant = new_tenant(emu, users=STORM_USERS, seed=4)
    app = new_app(emu, tenant)
    emu.control.configure(tenant, throttling={"enabled": True, "ru_per_10s": STORM_BUDGET})
    limits = PacingLimits(resource_units=STORM_BUDGET, resource_unit_period=10)
    with client_for(cloud, tenant, app, pacing=limits) as graph:
        ids = {u["id"] for u in graph.iter_values("/users", {"$select": "id", "$top": STORM_PAGE})}
    assert ids == true_ids(emu, tenant)
    assert graph.stats.throttled_429 <= 2 and graph.stats.wait_seconds_pacing > 2


def test_injected_5xx_resets_and_truncation_still_give_a_complete_listing(emu, cloud):
    tenant = new_tenant(emu, users=2000, seed=5)
    app = new_app(emu, tenant)
    emu.control.configure(tenant, faults={"error_rate": 0.15, "reset_rate": 0.1, "truncate_rate": 0.1, "seed": 9})
    with client_for(cloud, tenant, app, max_retries=12, sleep=lambda s: time.sleep(min(s, 0.05))) as graph:
        users = list(graph.iter_values("/users", {"$select": "id,displayName", "$top": "50"}))
    assert {u["id"] for u in users} == true_ids(emu, tenant) and len(users) == 2000
    stats = graph.stats
    assert stats.server_errors_5xx > 0 and stats.transport_errors > 0 and stats.retries > 0


def test_expired_delta_link_falls_back_to_a_full_read(emu, cloud):
    tenant = new_tenant(emu, users=300, seed=6)
    app = new_app(emu, tenant)
    with client_for(cloud, tenant, app) as graph:
        first = graph.delta("/users", select=["id", "displayName"])
        assert {u["id"] for u in first.values()} == true_ids(emu, tenant)
        saved = first.delta_link
        emu.control.mutate(tenant, "advance_clock", seconds=8 * 24 * 3600)
        with pytest.raises(DeltaExpiredError):
            list(graph.delta("/users", delta_link=saved))
        again = graph.delta_or_full("/users", delta_link=saved, select=["id", "displayName"])
        assert {u["id"] for u in again.values()} == true_ids(emu, tenant)
        assert again.resynced and again.delta_link != saved


DIRECTORY_TYPES = ["group", "application", "servicePrincipal", "device", "administrativeUnit", "organization",
                   "domain", "directoryRole", "unifiedRoleAssignment", "unifiedRoleDefinition",
                   "oAuth2PermissionGrant", "conditionalAccessPolicy", "namedLocation",
                   "authenticationMethodsPolicy", "directoryAudit"]


@pytest.mark.parametrize("object_type", DIRECTORY_TYPES)
def test_full_property_listing_of_every_type_is_accepted(cloud, tenant, app, object_type):
    with client_for(cloud, tenant, app) as graph:
        objects = list(graph.list_all(object_type))
    assert objects and all("id" in o for o in objects)

