"""Generator: deterministic for (seed, size), scales with size, realistic relationships."""

from __future__ import annotations

import base64
import random
import uuid
from datetime import datetime

from graph_emulator.control_api import tenant_meta
from graph_emulator.generator import generate
from graph_emulator.generator.apps import credential
from graph_emulator.store import Tenant


def _tenant(seed: int, users: int) -> Tenant:
    t = Tenant(tenant_meta({"seed": seed, "users": users}), None)
    generate(t)
    return t


def test_same_seed_and_size_give_identical_tenants():
    a, b = _tenant(9, 200), _tenant(9, 200)
    assert a.objs == b.objs and a.rel == b.rel and a.managers == b.managers
    assert _tenant(10, 200).objs["users"].keys() != a.objs["users"].keys()


def test_sizes_scale_with_user_count():
    t = _tenant(1, 1000)
    assert len(t.objs["users"]) == 1000
    assert 150 <= len(t.objs["groups"]) <= 250
    memberships = sum(len(v) for v in t.rel["group_members"].values())
    assert 3.5 * 1000 <= memberships <= 7 * 1000
    assert len(t.objs["conditionalAccessPolicies"]) == 6
    assert len(t.objs["applications"]) == 20
    synced = [u for u in t.objs["users"].values() if u.get("onPremisesSyncEnabled")]
    assert 0.2 < len(synced) / 1000 < 0.4 and all(u["onPremisesImmutableId"] for u in synced)
    assert all(uuid.UUID(i) for i in list(t.objs["users"])[:50])


def test_groups_cover_every_kind_and_managers_form_a_tree():
    t = _tenant(2, 300)
    kinds = {tuple(g["groupTypes"]) for g in t.objs["groups"].values()}
    assert {(), ("Unified",), ("DynamicMembership",)} <= kinds
    assert any(g.get("isAssignableToRole") for g in t.objs["groups"].values())
    for uid, mid in t.managers.items():
        assert uid != mid and mid in t.objs["users"]


def test_every_tenant_holds_a_cloud_only_user_and_group_with_hostile_display_names():
    from graph_emulator.generator.names import HOSTILE_GROUP_NAME, HOSTILE_USER_NAME

    for seed, users in ((3, 5), (11, 40), (2026, 3000)):  # the smallest, the e2e tests', the demo's (`make demo`)
        t = _tenant(seed, users)
        hostile_users = [u for u in t.objs["users"].values() if u["displayName"] == HOSTILE_USER_NAME]
        hostile_groups = [g for g in t.objs["groups"].values() if g["displayName"] == HOSTILE_GROUP_NAME]
        assert len(hostile_users) == len(hostile_groups) == 1, (seed, users)
        assert not hostile_users[0].get("onPremisesSyncEnabled") and not hostile_groups[0].get("onPremisesSyncEnabled")
        assert not hostile_groups[0].get("membershipRule")


def test_credentials_run_forward_and_mix_expired_expiring_and_valid():
    now = 1793491200.0
    creds = [credential(random.Random(i), now, "key" if i % 2 else "password") for i in range(400)]
    starts = [datetime.fromisoformat(c["startDateTime"]).timestamp() for c in creds]
    ends = [datetime.fromisoformat(c["endDateTime"]).timestamp() for c in creds]
    assert all(s < min(e, now) for s, e in zip(starts, ends, strict=True))
    expired = sum(e < now for e in ends)
    soon = sum(now <= e < now + 31 * 86400 for e in ends)
    assert 20 < expired < 100 and 20 < soon < 100 and len(creds) - expired - soon > 250
    assert {round((e - s) / 86400) for s, e in zip(starts, ends, strict=True)} <= {182, 365, 730}
    keys = [c["customKeyIdentifier"] for c in creds if c.get("type") == "AsymmetricX509Cert"]
    assert all(len(base64.b64decode(k, validate=True)) == 20 for k in keys)  # Edm.Binary: a SHA-1 thumbprint


def test_a_credential_given_its_start_is_valid_from_then():
    cred = credential(random.Random(1), 1793491200.0, "password", start=1793491200.0)
    assert cred["startDateTime"] == "2026-11-01T00:00:00Z" < cred["endDateTime"]
