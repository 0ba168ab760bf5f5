"""Benchmark: plan and apply the restore of deleted users with their memberships, against the emulator.

    .venv/bin/python benchmarks/bench_restore.py --users 10000 [--write-docs]

One generated tenant, one process run:
(1) a full backup of every type the restore writes (the collectors into a fresh repository: restore point R);
(2) every user that is not an administrator is deleted, then purged from the recycle bin (a hard deletion:
    users and their memberships are gone), through Graph's own DELETE requests;
(3) PLAN: restore/plan.py on R against production read through Graph (the backup collectors);
(4) APPLY: restore/apply.py with an in-memory journal: the users are re-created (new ids) and their
    memberships written, 20 writes per $batch.
Reported: Graph requests of the apply against the least possible with $batch (every write in a full batch of
20: ceil(writes / 20)), target ratio <= 1.1; plan and apply wall time; 429s met (the emulator enforces Graph's
write budget). The apply's reads (one GET of current members per group, batched) are counted in its requests.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from entrabackup import localdb  # noqa: E402
from entrabackup.graph import ClientSecret, GraphClient, custom_cloud  # noqa: E402
from graph_emulator.testing import running_emulator  # noqa: E402
from jobs.backup import backup_type  # noqa: E402
from repositories.store import RepositoryStore  # noqa: E402
from restore import apply  # noqa: E402
from restore import plan as planner  # noqa: E402

SECTION = "## Restore: 10,000 hard-deleted users with their memberships"
ROLES = ["Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All",
         "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
         "RoleManagement.ReadWrite.Directory", "AdministrativeUnit.ReadWrite.All", "Policy.Read.All",
         "Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All", "Device.Read.All"]
KEY = "bench-restore"


class MemoryJournal:
    """restore/apply.py's Journal in memory (the proxy's is the session's rows)."""

    def __init__(self):
        self._states, self._ids = {}, {}

    def states(self):
        return dict(self._states)

    def id_map(self):
        return dict(self._ids)

    def mark_sent(self, step_ids):
        self._states.update(dict.fromkeys(step_ids, apply.SENT))

    def record(self, step_id, status, detail="", *, http_status=None, new_id=None, extra_ids=None):
        self._states[step_id] = status
        if new_id:
            self._ids[self._old[step_id]] = new_id
        self._ids.update(extra_ids or {})

    def password(self, step):
        return "Bench-Passw0rd!"  # the benchmark's users never sign in

    def follow(self, plan):
        self._old = {s["id"]: s["object_id"] for s in plan["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    pg_dir = Path(tempfile.mkdtemp(prefix="ebrs-", dir="/tmp")) / "pg"  # a short path: the socket's limit
    server = localdb.ensure_running(pg_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="ebr-emu-") as state, running_emulator(Path(state)) as emu:
            started = time.monotonic()
            info = emu.control.create_tenant(seed=7, users=args.users, licence="P2")
            generated = time.monotonic() - started
            app = emu.control.register_app(info["tenant_id"], roles=ROLES, display_name="bench restore")
            localdb.ensure_database(server, "bench_restore")
            store = RepositoryStore(server.conninfo("bench_restore"))
            store.migrate()
            store.tenant_ensure(KEY, info["tenant_id"], "bench")
            with GraphClient(custom_cloud(emu.url, emu.url, emu.ca_path), info["tenant_id"], app["client_id"],
                             ClientSecret(app["client_secret"])) as client:
                rows = _run(client, store)
            store.close()
    finally:
        localdb.stop(pg_dir)
        shutil.rmtree(pg_dir.parent, ignore_errors=True)
    command = ".venv/bin/python " + " ".join(["benchmarks/bench_restore.py", *sys.argv[1:]])
    body = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {report.machine()}; the emulator as a subprocess on the same "
        f"CPUs, GraphClient with its default pacing. Tenant: {args.users:,} users (seed 7, generated in "
        f"{generated:.1f} s, not timed).", "", f"Command: `{command}`", "",
        "| measure | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], "", NOTES])
    print(body)
    if args.write_docs:
        report.write_section(SECTION, body)


NOTES = """The users are deleted and purged from the recycle bin first (a hard deletion), so every one is
re-created under a new id and every membership, owner and manager written again with the new id: the
hardest case. "Writes" are every planned write request (re-creations, PATCHes of up to 20 members, one
request per owner, manager, assignment); the least possible puts them all in full batches of 20. The apply
reads a relationship's current targets first only when some came back from the recycle bin or when it
resumes; this run has neither. Users still in the recycle bin would be restored with one POST each, their
memberships coming back with them."""


def _run(client, store) -> list[tuple[str, str]]:
    with store.session(KEY, "bench-1", kind="full") as writer:
        for object_type in planner.WRITABLE_TYPES:
            backup_type(client, writer, object_type, full=True)
        rp = writer.commit({})
    victims = _hard_delete_users(client, store, rp)
    started = time.monotonic()
    then = planner.restore_point_state(store, KEY, rp, planner.WRITABLE_TYPES)
    now = planner.production_state(store, KEY, rp, client, then)
    plan = planner.Planner(then, now, planner.Selection(everything=True), planner.Options(relations=planner.MERGE)).build()
    plan_seconds = time.monotonic() - started
    journal = MemoryJournal()
    journal.follow(plan)
    before_429 = client.stats.throttled_429
    started = time.monotonic()
    outcome = apply.apply_plan(client, plan, journal)
    apply_seconds = time.monotonic() - started
    least = apply.requests_least(plan)
    creates = sum(1 for s in plan["steps"] if s["op"] == "create")
    return [("users hard-deleted, then re-created", f"{victims} / {creates}"),
            ("relationship writes (members 20 per PATCH; owners one each)",
             str(sum(s["writes"] for s in plan["steps"] if s["op"] == "link"))),
            ("manager writes", str(sum(1 for s in plan["steps"] if s["op"] == "manager"))),
            ("planned writes in all", str(sum(s["writes"] for s in plan["steps"]))),
            ("plan: wall time (s)", f"{plan_seconds:.1f}"),
            ("apply: Graph requests ($batch, reads included)", str(outcome.requests)),
            ("least possible with $batch (ceil(writes / 20))", str(least)),
            ("ratio", f"{outcome.requests / max(least, 1):.3f}"),
            ("apply: wall time (s)", f"{apply_seconds:.1f}"),
            ("429 answers met during the apply", str(client.stats.throttled_429 - before_429)),
            ("steps done / failed", f"{outcome.done} / {outcome.failed}"
             + (f" ({'; '.join(outcome.failures[:2])})" if outcome.failures else ""))]


def _hard_delete_users(client, store, rp) -> int:
    """Delete every user that holds no directory role, then purge them from the recycle bin (via $batch)."""
    admins = {r.target_id for r in store.iter_relations(KEY, rp, "directory_role_member")}
    ids = [u["id"] for u in store.iter_objects(KEY, rp, "user") if u["id"] not in admins
           and not u.get("onPremisesSyncEnabled")]
    client.batch([{"method": "DELETE", "url": f"/users/{i}"} for i in ids])
    client.batch([{"method": "DELETE", "url": f"/directory/deletedItems/{i}"} for i in ids])
    return len(ids)


if __name__ == "__main__":
    main()
