"""Benchmark: the Entra ID backup repository store (repositories/store) on a local PostgreSQL.

    .venv/bin/python benchmarks/bench_repository.py [--users 100000] [--days 30] [--no-docs]
    .venv/bin/python -m benchmarks repository

1. Ingest: SessionWriter.put_full of N user-shaped documents (~46 properties, many null, ~1.8 KB of JSON)
   against a plain COPY of the same documents into a table (tenant_id, object_id, data jsonb) without index.
2. Size: a full backup (users + ~5 group memberships per user), then DAYS-1 more restore points with 1 % daily
   churn (1 % of users change, a few are deleted and created, 1 % of the memberships change; every 7th day is
   a full read, the others are delta rounds), as a multiple of the first full backup's size.
3. Commit time of the incremental restore points (1 % changes).
It starts its own PostgreSQL (entrabackup.localdb) in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from entrabackup import localdb  # noqa: E402
from repositories.store import RepositoryStore, copytext  # noqa: E402
from repositories.store.writer import ChunkedCopy  # noqa: E402

SECTION = "## Entra ID backup repository"
TENANT = "bench"
GROUPS = 2000
GIVEN = ["Ada", "Alan", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Donald", "Margaret", "John", "Frances"]
SURNAMES = ["Lovelace", "Turing", "Hopper", "Torvalds", "Thompson", "Liskov", "Dijkstra", "Knuth", "Hamilton"]
TITLES = ["Engineer", "Senior Engineer", "Architect", "Manager", "Analyst", "Consultant", "Director"]
DEPARTMENTS = ["IT", "Finance", "Sales", "Marketing", "Legal", "Research", "Operations", "HR"]
TABLES = ("object_version", "relation_version", "restore_point", "sync_state", "tenant")


def guid(rng: random.Random) -> str:
    return f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-" \
           f"{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}"


def stamp(rng: random.Random) -> str:
    return (f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d}:{rng.randrange(60):02d}Z")


def make_user(rng: random.Random, i: int) -> dict:
    """A member user as a `$select` of Graph returns it: unset properties come back as null."""
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    alias = f"{given}.{surname}{i}".lower()
    upn = f"{alias}@contoso.example"
    nulls = ["mobilePhone", "state", "faxNumber", "ageGroup", "consentProvidedForMinor", "legalAgeGroupClassification",
             "onPremisesSyncEnabled", "onPremisesImmutableId", "onPremisesSamAccountName", "onPremisesDomainName",
             "onPremisesDistinguishedName", "onPremisesLastSyncDateTime"]
    return {
        "id": guid(rng), "accountEnabled": True, "displayName": f"{given} {surname}", "givenName": given,
        "surname": surname, "userPrincipalName": upn, "mail": upn, "mailNickname": alias,
        "jobTitle": rng.choice(TITLES), "department": rng.choice(DEPARTMENTS), "companyName": "Contoso",
        "officeLocation": f"Paris/{rng.randrange(40)}A", "businessPhones": [f"+33 1 {rng.randrange(10**7, 10**8)}"],
        "preferredLanguage": "en-US", "usageLocation": "FR", "city": "Paris", "country": "France",
        "postalCode": "75001", "streetAddress": "1 rue de Rivoli", "userType": "Member",
        "createdDateTime": stamp(rng), "employeeId": str(100000 + i), "employeeType": "Employee",
        "employeeHireDate": stamp(rng), "passwordPolicies": "None",
        "identities": [{"signInType": "userPrincipalName", "issuer": "contoso.onmicrosoft.com", "issuerAssignedId": upn}],
        "proxyAddresses": [f"SMTP:{upn}"], "otherMails": [], "imAddresses": [upn],
        "assignedLicenses": [{"disabledPlans": [], "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900"}],
        "securityIdentifier": f"S-1-12-1-{rng.getrandbits(31)}-{rng.getrandbits(31)}",
        "lastPasswordChangeDateTime": stamp(rng), "signInSessionsValidFromDateTime": stamp(rng),
        "signInActivity": {"lastSignInDateTime": stamp(rng), "lastSignInRequestId": guid(rng),
                           "lastNonInteractiveSignInDateTime": stamp(rng), "lastNonInteractiveSignInRequestId": guid(rng)},
        **dict.fromkeys(nulls),
    }


def memberships(rng: random.Random, user_ids: list[str], groups: list[str], per_user: int = 5) -> set[tuple]:
    return {(g, u, "user") for u in user_ids for g in rng.sample(groups, per_user)}


# -- 1. ingest ----------------------------------------------------------------------------------------------
def plain_copy(conninfo: str, users: list[dict]) -> float:
    """Seconds to COPY the documents into a table without index (same text building, same chunking)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS plain_copy")
        conn.execute("CREATE TABLE plain_copy (tenant_id integer, object_id text, data jsonb)")
        started = time.perf_counter()
        with conn.transaction(), ChunkedCopy(conn, "COPY plain_copy FROM STDIN") as out:
            for user in users:
                out.write(b"1\t" + copytext.text(user["id"]) + b"\t" + copytext.json(user) + b"\n")
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE plain_copy")
    return elapsed


def vacuum(conninfo: str) -> None:
    """What autovacuum does between two daily backups (the tables are tuned for it in the migration)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) object_version, relation_version")


def repository_size(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT sum(pg_total_relation_size(t))::bigint FROM unnest(%s::regclass[]) t",
                            [list(TABLES)]).fetchone()[0]


def first_full_backup(store: RepositoryStore, users: list[dict], pairs: set[tuple]) -> dict:
    with store.session(TENANT, "day-0", "full") as w:
        started = time.perf_counter()
        w.put_full("user", users)
        put = time.perf_counter() - started
        started = time.perf_counter()
        w.put_relations_full("group_member", pairs, None)
        relations = time.perf_counter() - started
        started = time.perf_counter()
        w.commit()
        commit = time.perf_counter() - started
    return {"put_full": put, "relations": relations, "commit": commit}


# -- 2. and 3. daily churn ------------------------------------------------------------------------------------
class Tenant:
    """The simulated directory: users by id and membership pairs, changed a little every day."""

    def __init__(self, rng: random.Random, users: list[dict], pairs: set[tuple], groups: list[str]):
        self.rng, self.users, self.pairs, self.groups = rng, {u["id"]: u for u in users}, pairs, groups
        self.next_index = len(users)

    def churn(self, rate: float = 0.01, created: int = 10, deleted: int = 10) -> dict:
        """Apply one day of changes; returns them as delta items and relation changes."""
        rng, ids = self.rng, list(self.users)
        items = []
        for user_id in rng.sample(ids, int(len(ids) * rate)):
            change = {"jobTitle": rng.choice(TITLES), "department": rng.choice(DEPARTMENTS),
                      "officeLocation": f"Lyon/{rng.randrange(40)}B"}
            self.users[user_id].update(change)
            items.append({"id": user_id, **change})
        for user_id in rng.sample(ids, len(ids) // 20):  # sign-ins: volatile, never a new version
            self.users[user_id]["signInActivity"] = {"lastSignInDateTime": stamp(rng)}
        gone = rng.sample(ids, deleted)
        for user_id in gone:
            del self.users[user_id]
            items.append({"id": user_id, "@removed": {"reason": "changed"}})
        removed = {p for p in self.pairs if p[1] in set(gone)}
        removed |= set(rng.sample(sorted(self.pairs), int(len(self.pairs) * rate / 2)))
        added = set()
        for _ in range(created):
            user = make_user(rng, self.next_index)
            self.next_index += 1
            self.users[user["id"]] = user
            items.append(user)
            added |= {(g, user["id"], "user") for g in rng.sample(self.groups, 5)}
        live = list(self.users)
        while len(added) < len(removed):
            pair = (rng.choice(self.groups), rng.choice(live), "user")
            if pair not in self.pairs:
                added.add(pair)
        self.pairs = (self.pairs - removed) | added
        return {"items": items, "added": added, "removed": {(s, t) for s, t, _ in removed}}


def one_day(store: RepositoryStore, tenant: Tenant, day: int) -> dict:
    changes = tenant.churn()
    full = day % 7 == 0
    with store.session(TENANT, f"day-{day}", "full" if full else "incremental") as w:
        started = time.perf_counter()
        if full:
            w.put_full("user", list(tenant.users.values()))
            w.put_relations_full("group_member", tenant.pairs, None)
        else:
            w.put_delta("user", changes["items"])
            w.put_relation_changes("group_member", changes["added"], changes["removed"])
        put = time.perf_counter() - started
        started = time.perf_counter()
        r = w.commit()
        commit = time.perf_counter() - started
    return {"day": day, "full": full, "put": put, "commit": commit, "restore_point": r,
            "user_changes": len(changes["items"]), "pair_changes": len(changes["added"]) + len(changes["removed"])}


def daily_history(store: RepositoryStore, conninfo: str, tenant: Tenant, days: int) -> list[dict]:
    results = []
    for day in range(1, days):
        results.append(one_day(store, tenant, day))
        vacuum(conninfo)
    latest = store.latest_restore_point(TENANT).id
    assert store.count_objects(TENANT, latest, "user") == len(tenant.users)  # the repository is right, too
    assert sum(1 for _ in store.iter_relations(TENANT, latest, "group_member")) == len(tenant.pairs)
    return results


# -- report ---------------------------------------------------------------------------------------------------
def machine(conninfo: str) -> str:
    with psycopg.connect(conninfo) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return report.machine(f"PostgreSQL {server} (entrabackup.localdb, default settings)", f"psycopg {psycopg.__version__}")


def render(r: dict) -> str:
    n, days = r["users"], r["days"]
    writer_rate, plain_rate = n / r["ingest"]["put_full"], n / r["plain"]
    incr = [d for d in r["days_detail"] if not d["full"]]
    fulls = [d for d in r["days_detail"] if d["full"]]
    commits = [d["commit"] for d in incr]
    rows = [
        ("documents (users)", f"{n:,} × ~{r['doc_bytes']:,} B JSON, {r['properties']} properties"),
        ("plain COPY into a table without index (best of 2)", f"{r['plain']:.2f} s = **{plain_rate:,.0f} rows/s**"),
        ("writer `put_full` (hash, diff, COPY into object_version)", f"{r['ingest']['put_full']:.2f} s = "
                                                                     f"**{writer_rate:,.0f} rows/s**"),
        ("writer / plain COPY throughput", f"**{writer_rate / plain_rate:.2f}**"),
        ("first full backup: relations (`put_relations_full`)", f"{r['pairs']:,} pairs in {r['ingest']['relations']:.2f} s"),
        ("first full backup: commit", f"{r['ingest']['commit']:.2f} s"),
        ("size of the first full backup", f"{r['base_size'] / 1e6:.1f} MB"),
        (f"size after {days} restore points", f"{r['final_size'] / 1e6:.1f} MB"),
        (f"**size after {days} restore points / first full backup**", f"**{r['final_size'] / r['base_size']:.2f}×** "
                                                                        "(target ≤ 1.3×)"),
        (f"incremental restore point (delta: ~{statistics.median(d['user_changes'] for d in incr):,.0f} user items, "
         f"~{statistics.median(d['pair_changes'] for d in incr):,.0f} pair changes): writing", f"median "
         f"{statistics.median(d['put'] for d in incr):.2f} s"),
        ("**incremental restore point: commit**", f"**median {statistics.median(commits) * 1000:.0f} ms**, "
                                                  f"max {max(commits) * 1000:.0f} ms ({len(commits)} commits)"),
        ("weekly full read (all users + all pairs): writing / commit",
         f"median {statistics.median(d['put'] for d in fulls):.1f} s / "
         f"{statistics.median(d['commit'] for d in fulls) * 1000:.0f} ms" if fulls else "—"),
    ]
    lines = ["| measure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


NOTES = """How to read it: both ingest paths build COPY text the same way and hand PostgreSQL 1 MB chunks, so the
ratio is the price of the repository: the canonical hash (sha-256 of sorted JSON, ~20 µs an object) on the
client and, on the server, the primary key (random GUIDs) and the listing/maintenance indexes; the server side
is the bottleneck (the client builds rows at ~50k/s, overlapped with the COPY by a writer thread).

The size ratio counts tables, indexes and TOAST of the store (pg_total_relation_size) after a
`VACUUM (ANALYZE)` after each day, as autovacuum does with the store's table settings. A changed object costs a
new version; the version it supersedes is then kept compressed (zlib with a dictionary of Graph property names,
migration 0004), so 29 days of 1 % churn add a fraction of the raw ~29 % of object data. Relations: the ~0.5 % of
new pairs a day land at random places of the relation primary key (page splits); closing a pair is a HOT update
(no index entry) thanks to no `valid_to` index and 10 % free space on relation pages (migration 0002). UPN and
mail indexes, which the substring search cannot use, were dropped (migration 0003). Unchanged objects and
volatile-only changes (sign-ins, here 5 % of users a day) cost nothing. Compressing superseded versions doubled
the incremental commit (73 to 156 ms median). Before these changes: 1.33x (0002 only) and 1.34x (0003). The
machine is shared: timings vary by about ±15 % between runs; sizes do not."""


def write_docs(markdown: str, command: str, machine_line: str) -> None:
    body = (f"Measured {time.strftime('%Y-%m-%d')} on {machine_line}.\n\n"
            f"Command: `{command}`\n\n{markdown}\n\n{NOTES}")
    report.write_section(SECTION, body)


def run(conninfo: str, users_count: int, days: int) -> dict:
    rng = random.Random(2026)
    users = [make_user(rng, i) for i in range(users_count)]
    groups = [guid(rng) for _ in range(GROUPS)]
    pairs = memberships(rng, [u["id"] for u in users], groups)
    plain = plain_copy(conninfo, users)
    with RepositoryStore(conninfo) as store:
        store.migrate()
        store.tenant_ensure(TENANT, guid(rng), "Benchmark")
        ingest = first_full_backup(store, users, pairs)
        plain = min(plain, plain_copy(conninfo, users))
        vacuum(conninfo)
        base_size = repository_size(conninfo)
        detail = daily_history(store, conninfo, Tenant(rng, users, pairs, groups), days)
    return {"users": users_count, "days": days, "plain": plain, "ingest": ingest, "pairs": len(pairs),
            "doc_bytes": round(statistics.mean(len(orjson.dumps(u)) for u in users[:1000])),
            "properties": len(users[0]), "base_size": base_size, "final_size": repository_size(conninfo),
            "days_detail": detail}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv or [])
    folder = Path(tempfile.mkdtemp(prefix="ebrepo-"))  # short: the socket path must stay under ~100 chars
    try:
        server = localdb.ensure_running(folder)
        localdb.ensure_database(server, "bench")
        conninfo = server.conninfo("bench")
        started = time.perf_counter()
        results = run(conninfo, args.users, args.days)
        markdown = render(results)
        print(markdown)
        print(f"(total {time.perf_counter() - started:.0f} s)")
        if not args.no_docs:
            command = ".venv/bin/python benchmarks/bench_repository.py" + (
                f" --users {args.users} --days {args.days}" if (args.users, args.days) != (100_000, 30) else "")
            write_docs(markdown, command, machine(conninfo))
    finally:
        localdb.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
