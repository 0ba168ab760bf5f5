"""Deterministic tenant generator: same (seed, users, tenant_id, domain) -> identical tenant.

Writes straight into a fresh Tenant's tables (baseline state has change sequence 0; only later ops are
journaled). Each part draws from its own random stream (common.sub_rng).
"""

from __future__ import annotations

from graph_emulator.common import iso
from graph_emulator.generator.apps import generate_apps
from graph_emulator.generator.contacts import generate_contacts
from graph_emulator.generator.groups import generate_groups
from graph_emulator.generator.misc import generate_misc
from graph_emulator.generator.people import generate_users
from graph_emulator.generator.policies import generate_policies
from graph_emulator.generator.roles import generate_roles


def prepare_meta(meta: dict) -> dict:
    """Fill derived meta fields (timestamps, extension property name) in place."""
    meta["created_iso"] = iso(meta["created_at"])
    hr_app = f"{meta['seed']:08x}"[-8:] + "a5c04e1b9d2f4c7e8b3a6d0e1f2c3b4a"[: 24]
    meta["extension_prop"] = f"extension_{hr_app}_employeeCostCenter"
    return meta


def generate(tenant) -> None:
    prepare_meta(tenant.meta)
    users = generate_users(tenant)
    for u in users:
        tenant.objs["users"][u["id"]] = u
    groups = generate_groups(tenant, users)
    for g in groups:
        tenant.objs["groups"][g["id"]] = g
    generate_apps(tenant, users, groups)
    aus = generate_misc(tenant, users, groups)
    generate_roles(tenant, users, aus)
    generate_policies(tenant, users, groups)
    generate_contacts(tenant, users)
    for kind, table in tenant.objs.items():
        for oid in table:
            tenant.kind_of[oid] = kind
