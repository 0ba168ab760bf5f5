"""Benchmark: the log store (repositories/logstore) writing audit records into a directory log repository.

    .venv/bin/python benchmarks/bench_logstore.py [--records 100000] [--chunk 5000] [--no-docs]
    .venv/bin/python benchmarks/bench_logstore.py --compaction [--sessions 96] [--no-docs]
    .venv/bin/python -m benchmarks logstore

Graph is out of the picture: varied directoryAudit-shaped records (random ids, a few hundred users and
objects, 0-3 modified properties) are generated first, then timed through serialise + zstd + AES-256-GCM +
atomic write (fsync) of chunk and manifest, with and without encryption. Also: bytes stored per record
(chunk + manifest), at the chunk size given and at the sizes 15-minute sessions of a mid-size tenant write
(500 and 50 records, after a first session's backfill trained the chain's dictionary; and, for comparison,
without a dictionary at zstd level 3 as before), and the read-back and verify rates. Floors from the issue: >= 50,000 records/s (100x the ~500 records/s
Graph delivers per tenant), <= 120 bytes per audit record. Engineers extending it (indexing, the cache)
add their stages to `stages()`. `--compaction` stores a quiet tenant's day as 15-minute sessions of 50 records,
compacts it (repositories/logstore/compaction.py) and reports the bytes per record of that day before and after,
in a section of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson
import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from repositories.logstore import DirectoryBackend, LogRepository, MemoryHeads, dictionaries  # noqa: E402
from repositories.logstore import repository as logstore_repository  # noqa: E402
from repositories.logstore.compaction import COMPACT_LEVEL, compact_chain  # noqa: E402
from repositories.logstore.repository import SMALL_LEVEL, ZSTD_LEVEL  # noqa: E402
from repositories.logstore.tests.factories import audit_records  # noqa: E402

SECTION = "## Log repository: compress, encrypt, write"
COMPACTION_SECTION = "## Log repository: compacting a quiet tenant's day"
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway repository
FLOOR_RATE, FLOOR_BYTES = 50_000, 120
REPEAT = 3


def write_all(store: LogRepository, records: list[dict], chunk: int, day: date = date(2026, 11, 30),
              session: str = "s1") -> tuple[float, int]:
    """Seconds to write every record in chunks of `chunk`, and the bytes stored (chunks + manifests)."""
    started = time.perf_counter()
    for at in range(0, len(records), chunk):
        store.write_chunk(tenant="bench", log_type="audit", day=day, session=session, records=records[at:at + chunk])
    seconds = time.perf_counter() - started
    stored = sum(p.stat().st_size for p in Path(store.backend.root, "bench").rglob("*") if p.is_file())
    return seconds, stored


def stages(records: list[dict], chunk: int) -> dict:
    results = {}
    for label, password in (("plain", None), ("encrypted", PASSWORD)):
        runs = []
        for _ in range(REPEAT):  # best of REPEAT: the machine is shared and noisy
            with tempfile.TemporaryDirectory() as folder:
                runs.append(write_all(LogRepository.create(DirectoryBackend(Path(folder)), password=password),
                                      records, chunk))
        seconds, stored = min(runs)
        with tempfile.TemporaryDirectory() as folder:
            store = LogRepository.create(DirectoryBackend(Path(folder)), password=password)
            write_all(store, records, chunk)
            started = time.perf_counter()
            read = sum(len(store.read_chunk(m)) for m in store.manifests("bench", "audit"))
            read_seconds = time.perf_counter() - started
            started = time.perf_counter()
            verified = store.verify()
            verify_seconds = time.perf_counter() - started
            assert read == len(records) and verified.ok and verified.records == len(records)
            results[label] = {"seconds": seconds, "rate": len(records) / seconds, "bytes": stored / len(records),
                              "read_rate": read / read_seconds, "verify_rate": read / verify_seconds}
    results["sessions"] = sessions(audit_records(32_000, seed=5))
    with without_dictionary():
        results["sessions_before"] = sessions(audit_records(32_000, seed=5))
    ndjson = b"".join(orjson.dumps(r) + b"\n" for r in records[:chunk])
    results["raw_bytes"] = len(ndjson) / min(chunk, len(records))
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).compress(ndjson)
        timings.append(time.perf_counter() - started)
    results["zstd_rate"] = min(chunk, len(records)) / min(timings)
    return results


def sessions(records: list[dict]) -> dict:
    """A first session's backfill (20,000 records in 5,000-record chunks), then 15-minute sessions writing
    500-record and 50-record chunks: bytes per record of the small chunks (chunk + manifest; the chain's one
    dictionary, trained at the first small chunk, is reported on its own) and their records/s."""
    with tempfile.TemporaryDirectory() as folder:
        store = LogRepository.create(DirectoryBackend(Path(folder)), password=PASSWORD)
        write_all(store, records[:20_000], 5_000)
        found = {}
        for size, part in ((500, records[20_000:30_000]), (50, records[30_000:32_000])):
            before = _chunk_bytes(Path(folder))
            started = time.perf_counter()
            write_all(store, part, size)
            seconds = time.perf_counter() - started
            found[size] = {"bytes": (_chunk_bytes(Path(folder)) - before) / len(part), "rate": len(part) / seconds}
        found["dictionary"] = sum(p.stat().st_size for p in Path(folder).rglob("*.zdict*"))
        assert store.verify().ok
    return found


def _chunk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.joinpath("bench").rglob("*") if p.is_file() and ".zdict" not in p.name)


@contextlib.contextmanager
def without_dictionary():
    """The store as it was before dictionaries: no training, level 3 at every chunk size."""
    saved = dictionaries.TRAIN_MIN_RECORDS, logstore_repository.SMALL_LEVEL
    dictionaries.TRAIN_MIN_RECORDS, logstore_repository.SMALL_LEVEL = 10**12, ZSTD_LEVEL
    try:
        yield
    finally:
        dictionaries.TRAIN_MIN_RECORDS, logstore_repository.SMALL_LEVEL = saved


def render(r: dict, *, count: int, chunk: int) -> str:
    plain, enc = r["plain"], r["encrypted"]
    ok_rate = "meets" if enc["rate"] >= FLOOR_RATE else "MISSES"
    ok_bytes = "meets" if enc["bytes"] <= FLOOR_BYTES else "MISSES"
    now, old = r["sessions"], r["sessions_before"]
    verdict = {size: "meets" if now[size]["bytes"] <= FLOOR_BYTES else "MISSES" for size in (500, 50)}
    machine = report.machine(f"zstandard {zstandard.__version__} (level {ZSTD_LEVEL})")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"""Measured {time.strftime('%Y-%m-%d')} on {machine}; load average at the end {load}.

Command: `.venv/bin/python benchmarks/bench_logstore.py --records {count} --chunk {chunk}`

| measure | value |
|---|---|
| records | {count:,} directoryAudit-shaped records, ~{r['raw_bytes']:,.0f} B of NDJSON each |
| write, no encryption (serialise, zstd, write + fsync chunk and manifest; best of 3) | {plain['seconds']:.2f} s = {plain['rate']:,.0f} records/s |
| **write, encrypted** (+ AES-256-GCM with a data key per chunk; best of 3) | {enc['seconds']:.2f} s = **{enc['rate']:,.0f} records/s** ({ok_rate} the floor of {FLOOR_RATE:,}) |
| **bytes stored per record**, {chunk:,}-record chunks (chunk + manifest) | **{enc['bytes']:.1f} B** encrypted, {plain['bytes']:.1f} B plain ({ok_bytes} the floor of {FLOOR_BYTES}) |
| **bytes stored per record, 500-record chunks** (15-minute sessions; chain dictionary, level {SMALL_LEVEL}) | **{now[500]['bytes']:.1f} B** ({verdict[500]} the floor of {FLOOR_BYTES}); {old[500]['bytes']:.1f} B without a dictionary at level {ZSTD_LEVEL} |
| **bytes stored per record, 50-record chunks** (a quiet tenant's sessions) | **{now[50]['bytes']:.1f} B** ({verdict[50]} the floor of {FLOOR_BYTES}); {old[50]['bytes']:.1f} B without a dictionary at level {ZSTD_LEVEL} |
| write rate of those small chunks, encrypted | {now[500]['rate']:,.0f} records/s (500), {now[50]['rate']:,.0f} records/s (50); {old[500]['rate']:,.0f} and {old[50]['rate']:,.0f} before |
| the chain's dictionary (once per tenant and log type; not in the figures above) | {now['dictionary']:,} B |
| zstd alone (one {chunk:,}-record chunk) | {r['zstd_rate']:,.0f} records/s |
| read back (hash check, decrypt, decompress, parse) | {enc['read_rate']:,.0f} records/s encrypted, {plain['read_rate']:,.0f} plain |
| verify (every chunk re-read, the chain checked) | {enc['verify_rate']:,.0f} records/s encrypted |

How to read it: the password's scrypt key derivation (~0.4 s) happens once when the repository is opened and
is not in these times. Random GUIDs (id, correlation id, target and initiator ids) are most of what is left
after compression; the rest of a record compresses to almost nothing within a chunk, so small chunks cost
more per record. The chain's dictionary (trained from its first 1,000-5,000 records) gives a small chunk
that repeated rest; chunks under 1,000 records are also compressed at level {SMALL_LEVEL}, slower per record (a
15-minute session's few hundred records take a fraction of a second); larger chunks are written as before. In a 50-record chunk the manifest (~600 B) alone
is ~12 B per record. Indexing and the cache (the log job's other stages) are not in these numbers. The machine is
shared (see the load average): write rates vary by about ±30 % between runs, more than encryption costs
(AES-GCM over the ~0.5 MB a compressed chunk holds takes well under a millisecond), so the plain run coming out
slower than the encrypted one is noise.
"""


def compaction(sessions: int, size: int = 50) -> dict:
    """A first session's backfill of an earlier day (20,000 records in 5,000-record chunks; the chain's
    dictionary is trained from it at the first small chunk), then `sessions` sessions of `size` records on one
    day, encrypted; that day's bytes per record (chunks + manifests) before and after compaction."""
    day = date(2026, 11, 30)
    records = audit_records(20_000 + sessions * size, seed=5)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = LogRepository.create(DirectoryBackend(root), password=PASSWORD, heads=MemoryHeads())
        write_all(store, records[:20_000], 5_000, day=day - timedelta(days=1))
        for n in range(sessions):
            part = records[20_000 + n * size:20_000 + (n + 1) * size]
            store.write_chunk(tenant="bench", log_type="audit", day=day, session=f"ls{n}", records=part)
        before = _day_bytes(root, day)
        started = time.perf_counter()
        report = compact_chain(store, "bench", "audit", closed_before=day + timedelta(days=1))
        seconds = time.perf_counter() - started
        after = _day_bytes(root, day)
        kept = store.manifests("bench", "audit", day, day)
        verified = store.verify()
        assert report.merged == sessions and len(kept) == 1 and verified.ok and not verified.orphaned
        assert [r["id"] for r in store.read_chunk(kept[0])] == [r["id"] for r in records[20_000:]]
        manifest = (root / kept[0].path).stat().st_size
    count = sessions * size
    return {"sessions": sessions, "size": size, "before": before / count, "after": after / count,
            "seconds": seconds, "manifest": manifest, "rate": count / seconds}


def _day_bytes(root: Path, day: date) -> int:
    return sum(p.stat().st_size for p in root.joinpath("bench", "audit", f"{day:%Y/%m/%d}").iterdir() if p.is_file())


def render_compaction(r: dict) -> str:
    verdict = {k: "meets" if r[k] <= FLOOR_BYTES else "MISSES" for k in ("before", "after")}
    machine = report.machine(f"zstandard {zstandard.__version__}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    count = r["sessions"] * r["size"]
    return f"""Measured {time.strftime('%Y-%m-%d')} on {machine}; load average at the end {load}.

Command: `.venv/bin/python benchmarks/bench_logstore.py --compaction --sessions {r['sessions']}`

| measure | value |
|---|---|
| the day | {r['sessions']} sessions of {r['size']} directoryAudit-shaped records = {count:,} records, encrypted, after a first session's backfill of 20,000 records trained the chain's dictionary |
| **bytes stored per record before** ({r['sessions']} chunks of {r['size']} records + their manifests; dictionary, level {SMALL_LEVEL}) | **{r['before']:.1f} B** ({verdict['before']} the floor of {FLOOR_BYTES}) |
| **bytes stored per record after compaction** (one chunk, level {COMPACT_LEVEL}, + its manifest) | **{r['after']:.1f} B** ({verdict['after']} the floor of {FLOOR_BYTES}) |
| the compacted manifest (it lists the {r['sessions']} links it replaced) | {r['manifest']:,} B = {r['manifest'] / count:.1f} B per record, inside the figure above |
| compaction (read and check {r['sessions']} chunks, write one, remove {2 * r['sessions']} files) | {r['seconds']:.2f} s = {r['rate']:,.0f} records/s |

How to read it: once a day is closed (past the log job's overlap window plus an hour), a log session merges
that day's small chunks into one (docs/log-repositories.md, Compaction). Per record, the small chunks cost
their own manifest (~600 B each) and compress alone; the compacted chunk compresses the whole day at level
{COMPACT_LEVEL}. The dictionary (trained once per chain) is not counted, as above. The compaction time is
dominated by zstd level {COMPACT_LEVEL} over the day (~4 MB of NDJSON); it runs once per day and chain. Tried on the same day:
level 9 gives ~92 B per record in about a tenth of the time, level 19 ~81 B in about four times the time;
the chain's dictionary gains nothing on a day this large (it is used for a compacted day under 1,000
records). Bytes do not depend on the load; the time does (compare it only at a low load average).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--compaction", action="store_true", help="a quiet day compacted (its own section)")
    parser.add_argument("--sessions", type=int, default=96, help="--compaction: 15-minute sessions in the day")
    args = parser.parse_args(argv)
    if args.compaction:
        body = render_compaction(compaction(args.sessions))
        print(body)
        if not args.no_docs:
            report.write_section(COMPACTION_SECTION, body)
        return
    records = audit_records(args.records)
    body = render(stages(records, args.chunk), count=args.records, chunk=args.chunk)
    print(body)
    if not args.no_docs:
        report.write_section(SECTION, body)


if __name__ == "__main__":
    main()
