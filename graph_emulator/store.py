"""Tenant state: baseline from the deterministic generator + an append-only journal of low-level ops.

Why a journal: a 100k-user tenant regenerates from (seed, size) in seconds, so persisting it means only
persisting what changed since. Every op also appends to an in-memory change log whose index is the
sequence number delta tokens carry (delta.py), so delta keeps working across restarts.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import orjson

from graph_emulator.common import parse_iso
from graph_emulator.generator import generate
from graph_emulator.kinds import KINDS, RELATIONS

DEFAULT_CONFIG = {
    "throttling": {"enabled": False, "ru_per_10s": None, "write_per_150s": 3000, "tenant_write_per_300s": 18000,
                   "reports_per_10s": 5, "ca_per_s": 1},
    "faults": {"error_rate": 0.0, "reset_rate": 0.0, "slow_rate": 0.0, "slow_seconds": 2.0, "truncate_rate": 0.0,
               "seed": 0},
    "audit_delay_seconds": 0.0,
    "arrival_delays": {"enabled": False, "seed": 0,
                       "quantiles": [[0.0, 0.0], [0.5, 30.0], [0.95, 120.0], [0.99, 300.0], [1.0, 1800.0]]},
    "signins_per_minute": 1.0,
    "delta_token_ttl_seconds": 7 * 86400,
    "page_size_default": 100,
    "delta_members_per_page": 1000,
}


def merge_config(base: dict, patch: dict) -> dict:
    """Recursive dict merge (config PATCH semantics); unknown top-level keys are rejected by the caller."""
    out = dict(base)
    for k, v in patch.items():
        out[k] = merge_config(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Tenant:
    """One emulated Entra tenant. All access goes through ``lock`` (an RLock)."""

    def __init__(self, meta: dict, directory: Path | None):
        self.meta = meta
        self.dir = directory
        self.lock = threading.RLock()
        self.loaded = False
        self.objs: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
        self.deleted: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
        self.rel: dict[str, dict[str, dict[str, None]]] = {r: {} for r in RELATIONS}
        self.rev: dict[str, dict[str, set]] = {r: {} for r in RELATIONS}
        self.managers: dict[str, str] = {}
        self.kind_of: dict[str, str] = {}
        self.changes: list[tuple] = []  # (kind, id, what, data); seq = index + 1
        self.audits: list[dict] = []
        self.creds: dict[str, dict] = {}  # client_id -> registered credentials (hashes / certs only)
        self.auth_policy: dict = {}
        self._order: dict[str, list[str] | None] = {k: None for k in KINDS}
        self._journal = None

    # ---- identity / clock -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.meta["tenant_id"]

    @property
    def premium(self) -> bool:
        return self.meta.get("licence", "P2") in ("P1", "P2")

    @property
    def config(self) -> dict:
        return self.meta["config"]

    def now(self) -> float:
        """Tenant clock: wall clock + the offset advance_clock added (tests age tokens without sleeping)."""
        return time.time() + self.meta.get("clock_offset", 0.0)

    @property
    def seq(self) -> int:
        return len(self.changes)

    # ---- loading ----------------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        if self.loaded:
            return
        with self.lock:
            if self.loaded:
                return
            generate(self)
            self._replay()
            self.loaded = True

    def _replay(self) -> None:
        if self.dir is None:
            return
        path = self.dir / "journal.jsonl"
        if path.exists():
            with path.open("rb") as fh:
                for line in fh:
                    if line.endswith(b"\n"):  # a torn last line (crash mid-write) is ignored
                        self.apply(orjson.loads(line), journal=False)
        self._journal = path.open("ab")

    def save_meta(self) -> None:
        if self.dir is not None:
            atomic_write(self.dir / "meta.json", orjson.dumps(self.meta, option=orjson.OPT_INDENT_2))

    def close(self) -> None:
        with self.lock:
            if self._journal:
                self._journal.flush()
                os.fsync(self._journal.fileno())
                self._journal.close()
                self._journal = None
            self.save_meta()

    # ---- low-level ops (the only way state changes) -----------------------------------------------
    def apply(self, op: list, journal: bool = True) -> None:
        """Apply one journaled op: ['put'|'patch'|'soft'|'hard'|'restore'|'link'|'unlink'|'manager'|...]."""
        with self.lock:
            getattr(self, "_op_" + op[0])(*op[1:])
            if journal and self._journal is not None:
                self._journal.write(orjson.dumps(op) + b"\n")
                self._journal.flush()

    def _change(self, kind: str, oid: str, what: str, data=None) -> None:
        self.changes.append((kind, oid, what, data))

    def _op_put(self, kind: str, obj: dict) -> None:
        oid = obj["id"]
        if oid not in self.objs[kind]:
            self._order[kind] = None
        self.objs[kind][oid] = obj
        self.kind_of[oid] = kind
        self._change(kind, oid, "add", None)

    def _op_patch(self, kind: str, oid: str, props: dict) -> None:
        obj = self.objs[kind][oid]
        changed = [k for k, v in props.items() if obj.get(k) != v]
        for k, v in props.items():
            if v is None:
                obj.pop(k, None)
            else:
                obj[k] = v
        if changed:
            self._change(kind, oid, "upd", tuple(changed))

    def _op_soft(self, kind: str, oid: str, ts: str) -> None:
        obj = self.objs[kind].pop(oid)
        obj["deletedDateTime"] = ts
        self.deleted[kind][oid] = obj
        self._order[kind] = None
        self._change(kind, oid, "soft")

    def _op_restore(self, kind: str, oid: str) -> None:
        obj = self.deleted[kind].pop(oid)
        obj.pop("deletedDateTime", None)
        self.objs[kind][oid] = obj
        self._order[kind] = None
        self._change(kind, oid, "restore")

    def _op_hard(self, kind: str, oid: str) -> None:
        """Permanent delete: the object and every relationship that mentions it disappear."""
        if self.objs[kind].pop(oid, None) is not None:
            self._order[kind] = None
        self.deleted[kind].pop(oid, None)
        for rel in RELATIONS:
            for src in list(self.rev[rel].get(oid, ())):
                self._op_unlink(rel, src, oid)
            for dst in list(self.rel[rel].get(oid, {})):
                self._op_unlink(rel, oid, dst)
        self.managers.pop(oid, None)
        for uid in [u for u, m in self.managers.items() if m == oid]:
            self._op_manager(uid, None)  # the reports lose their manager; users/delta reports it (manager@delta)
        for aid in [a for a, o in self.objs["appRoleAssignments"].items() if oid in (o["principalId"], o["resourceId"])]:
            self._op_hard("appRoleAssignments", aid)
        for rid in [a for a, o in self.objs["roleAssignments"].items() if o["principalId"] == oid]:
            self._op_hard("roleAssignments", rid)  # a role-assignable group (or user) gone for good holds no role
        self._change(kind, oid, "hard")

    def _op_link(self, rel: str, src: str, dst: str) -> None:
        self.rel[rel].setdefault(src, {})[dst] = None
        self.rev[rel].setdefault(dst, set()).add(src)
        self._rel_change(rel, src, "m+", dst)

    def _op_unlink(self, rel: str, src: str, dst: str) -> None:
        self.rel[rel].get(src, {}).pop(dst, None)
        self.rev[rel].get(dst, set()).discard(src)
        self._rel_change(rel, src, "m-", dst)

    def _rel_change(self, rel: str, src: str, what: str, dst: str) -> None:
        kind = {"group_members": "groups", "au_members": "administrativeUnits"}.get(rel)
        if kind:  # members@delta is tracked for groups and AUs only (https://learn.microsoft.com/graph/delta-query-groups)
            self._change(kind, src, what, dst)

    def _op_manager(self, uid: str, mid: str | None) -> None:
        self._change("users", uid, "mgr", self.managers.get(uid))  # previous manager, for manager@delta removals
        if mid is None:
            self.managers.pop(uid, None)
        else:
            self.managers[uid] = mid
        self._change("users", uid, "upd", ("manager",))

    def _op_audit(self, record: dict) -> None:
        self.audits.append(record)

    def _op_cred(self, client_id: str, data: dict) -> None:
        self.creds[client_id] = data

    def _op_authpolicy(self, policy: dict) -> None:
        self.auth_policy = policy

    # ---- queries ----------------------------------------------------------------------------------
    def sorted_ids(self, kind: str) -> list[str]:
        """Active ids of a kind in id order (the stable order paging tokens resume from)."""
        order = self._order[kind]
        if order is None:
            order = self._order[kind] = sorted(self.objs[kind])
        return order

    def find(self, oid: str) -> tuple[str, dict] | None:
        """Locate an active object of any kind by id."""
        kind = self.kind_of.get(oid)
        if kind and oid in self.objs[kind]:
            return kind, self.objs[kind][oid]
        return None

    def members(self, rel: str, src: str) -> list[str]:
        """Related ids still active (soft-deleted users keep memberships but are not listed, https://learn.microsoft.com/graph/delta-query-groups)."""
        return [m for m in self.rel[rel].get(src, {}) if self.find(m)]

    def purge_expired(self) -> None:
        """Soft-deleted objects older than 30 days (tenant clock) are permanently deleted (https://learn.microsoft.com/graph/api/directory-deleteditems-list)."""
        limit = self.now() - 30 * 86400
        for kind, items in self.deleted.items():
            for oid, obj in list(items.items()):
                if parse_iso(obj["deletedDateTime"]) < limit:
                    self.apply(["hard", kind, oid])


class Store:
    """All tenants under one state directory (STATE/tenants/<tid>/{meta.json,journal.jsonl})."""

    def __init__(self, state_dir: Path):
        self.dir = state_dir
        self.tenants: dict[str, Tenant] = {}
        self.lock = threading.Lock()
        (state_dir / "tenants").mkdir(parents=True, exist_ok=True)
        for meta_path in sorted((state_dir / "tenants").glob("*/meta.json")):
            meta = orjson.loads(meta_path.read_bytes())
            meta["config"] = merge_config(DEFAULT_CONFIG, meta.get("config", {}))
            self.tenants[meta["tenant_id"]] = Tenant(meta, meta_path.parent)

    def resolve(self, name: str) -> Tenant | None:
        """Tenant by GUID or by one of its verified domains (case-insensitive)."""
        name = name.lower()
        if name in self.tenants:
            return self.tenants[name]
        for t in self.tenants.values():
            if name in (t.meta["domain"].lower(), t.meta["initial_domain"].lower()):
                return t
        return None

    def add(self, meta: dict) -> Tenant:
        with self.lock:
            existing = self.tenants.get(meta["tenant_id"])
            if existing:
                return existing
            d = self.dir / "tenants" / meta["tenant_id"]
            d.mkdir(parents=True, exist_ok=True)
            tenant = Tenant(meta, d)
            tenant.save_meta()
            self.tenants[meta["tenant_id"]] = tenant
            return tenant

    def close(self) -> None:
        for t in self.tenants.values():
            if t.loaded:
                t.close()
            else:
                t.save_meta()
