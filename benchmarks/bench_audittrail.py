"""Benchmark: the audit trail page's searches, and the chain's verification, over many entries.

    .venv/bin/python benchmarks/bench_audittrail.py [--entries 500000] [--no-docs]

A database of its own (`bench_audittrail` on the local PostgreSQL) gets the audit trail's tables from its
migration, then `--entries` rows of a busy installation's half year (sessions of 1,000 tenants, sign-ins of
60 operators, some configuration changes, restores and exports; a valid hash chain) by COPY. Each search
of the page goes through audittrail.selectors.entries_page, the function the page calls, and is timed (median
of 3 after a warm-up) with the access path of its main query; then `chain.verify()` reads the whole chain.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402

SECTION = "## Audit trail: searches and verification"
DATABASE = "bench_audittrail"
START = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 180
# (action, share of entries, result other than ok and its share)
ACTIONS = [
    ("session.start", 0.30, None), ("session.finish", 0.30, ("failed", 0.05)), ("signin.success", 0.15, None),
    ("signin.failure", 0.03, ("failed", 1.0)), ("export.logs", 0.05, None), ("export.compare", 0.05, None),
    ("job.update", 0.04, None), ("tenant.update", 0.03, None), ("session.cancel", 0.02, None),
    ("restore.plan", 0.02, None), ("restore.apply", 0.005, ("denied", 0.1)), ("signin.lockout", 0.004, ("denied", 1.0)),
    ("tenant.create", 0.001, None),
]
USERS = [f"operator{n:02d}" for n in range(60)]


def django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "entrabackup.settings_test"
    os.environ["ENTRABACKUP_LOCALDB_NAME"] = DATABASE  # never the installation's or the tests' database
    os.environ.pop("DATABASE_URL", None)
    import django  # local: imported once the settings module is chosen

    django.setup()


def entries(count: int, seed: int = 7):
    """Rows in chain order: dicts of every column, hashes chained as audittrail.chain.append makes them."""
    from audittrail import chain  # local: after django.setup()

    rng = random.Random(seed)
    names = [action for action, _, _ in ACTIONS]
    weights = [share for _, share, _ in ACTIONS]
    results = {action: result for action, _, result in ACTIONS}
    step, prev = timedelta(seconds=DAYS * 86400 / count), chain.GENESIS
    for n in range(1, count + 1):
        action = rng.choices(names, weights)[0]
        other = results[action]
        result = other[0] if other and rng.random() < other[1] else "ok"
        tenant = rng.randrange(1, 1001) if not action.startswith("signin") else None
        person = action.startswith(("signin", "export", "restore", "tenant", "job")) or rng.random() < 0.1
        user = rng.choice(USERS) if person else ""
        row = {"id": n, "at": START + step * n, "actor": "user" if person else "system",
               "user_id": USERS.index(user) + 1 if user else None, "username": user, "command": "", "os_user": "",
               "action": action, "target": f"backup session {n}", "tenant_id": tenant,
               "tenant_name": f"Tenant {tenant}" if tenant else "", "result": result, "detail": {"n": n},
               "ip": f"198.51.100.{n % 250}" if person else "", "user_agent": "Firefox" if person else "",
               "host": "" if person else "proxy-1", "prev_hash": prev}
        row["hash"] = prev = chain.entry_hash(row)
        yield row


def fill(count: int) -> float:
    """Migrate the audit trail's tables afresh and COPY `count` entries into them; the seconds it took."""
    import orjson  # local: only the benchmark needs it here
    from django.core.management import call_command  # local: after django.setup()
    from django.db import connection  # local: after django.setup()

    from audittrail import chain  # local: after django.setup()

    began = time.monotonic()
    call_command("migrate", "audittrail", "zero", verbosity=0)  # drops the tables of a previous run
    call_command("migrate", "audittrail", verbosity=0)
    columns = [*chain.HASHED_FIELDS, "hash"]
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY audittrail_entry ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608
            for row in entries(count):
                row["detail"] = orjson.dumps(row["detail"]).decode()
                copy.write_row([row[name] for name in columns])
        cursor.execute("INSERT INTO audittrail_chainhead (id, last_id, last_hash) "
                       "SELECT 1, id, hash FROM audittrail_entry ORDER BY id DESC LIMIT 1")
        cursor.execute("ANALYZE audittrail_entry")
    return time.monotonic() - began


def searches(count: int) -> list[tuple[str, dict, int | None]]:
    """(what, EntryFilter fields, before): the page's searches a person makes."""
    middle = START + timedelta(days=DAYS // 2)
    return [
        ("newest page, no filter", {}, None),
        ("a page in the middle (Older, keyset)", {}, count // 2),
        ("action, common (session.finish)", {"action": "session.finish"}, None),
        ("action, rare (restore.apply)", {"action": "restore.apply"}, None),
        ("action, rare, a page in the middle", {"action": "restore.apply"}, count // 2),
        ("action prefix (restore.*)", {"action": "restore.*"}, None),
        ("action prefix matching nothing (approval.*)", {"action": "approval.*"}, None),
        ("user", {"username": "operator07"}, None),
        ("tenant", {"tenant_id": 512}, None),
        ("result, rare (denied)", {"result": "denied"}, None),
        ("one day in the middle", {"start": middle, "stop": middle + timedelta(days=1)}, None),
        ("one day, user and action", {"start": middle, "stop": middle + timedelta(days=1), "username": "operator07",
                                      "action": "signin.success"}, None),
        ("tenant and result (failed)", {"tenant_id": 512, "result": "failed"}, None),
        ("user matching nothing", {"username": "nobody"}, None),
    ]


def measure(fields: dict, before: int | None) -> tuple[float, int, str]:
    from django.db import connection  # local: after django.setup()

    from audittrail import selectors  # local: after django.setup()

    filters = selectors.EntryFilter(**fields)
    timings = []
    for _ in range(4):
        began = time.perf_counter()
        rows, _older = selectors.entries_page(filters, before=before)
        timings.append((time.perf_counter() - began) * 1000)
    query = selectors.entries_matching(filters)
    query = (query.filter(id__lt=before) if before else query)[:51]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) " + sql, params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    return statistics.median(timings[1:]), len(rows), access_paths(plan)


def access_paths(plan: str) -> str:
    kinds = [k for k in ("Index Only Scan", "Index Scan Backward", "Index Scan", "Bitmap Index Scan", "Seq Scan",
                         "Sort") if k in plan]
    names = sorted({word for word in plan.split() if word.startswith("audittrail_")})
    return ", ".join(kinds) + (f" ({', '.join(names)})" if names else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    django_setup()
    from django.db import connection  # local: after django.setup()

    from audittrail import chain  # local: after django.setup()

    fill_seconds = fill(args.entries)
    results = [(what, *measure(fields, before)) for what, fields, before in searches(args.entries)]
    began = time.monotonic()
    verification = chain.verify()
    verify_seconds = time.monotonic() - began
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    load = os.getloadavg()[0]
    lines = "\n".join(f"| {what} | {n} | {ms:.1f} ms | {paths} |" for what, ms, n, paths in results)
    body = (f"Machine: {report.machine(f'PostgreSQL {version}')}; load average {load:.1f} at the end.\n"
            f"Command: `.venv/bin/python benchmarks/bench_audittrail.py --entries {args.entries}`.\n"
            f"{args.entries:,} entries over {DAYS} days (1,000 tenants, {len(USERS)} operators) written in "
            f"{fill_seconds:.0f} s; each search is `audittrail.selectors.entries_page` (a page of 50), median of 3 "
            "after a warm-up.\n\n"
            "| search | rows | time | access path |\n|---|---|---|---|\n"
            f"{lines}\n\n"
            f"`chain.verify()` of the {verification.checked:,} entries: {verify_seconds:.1f} s "
            f"({'intact' if verification.ok else 'NOT intact'}).\n")
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
