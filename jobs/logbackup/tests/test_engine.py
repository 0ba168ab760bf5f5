"""The log backup engine against the in-process Graph emulator with arrival delays on.

Overlapping sessions store every served record exactly once; a lost cache, a crash between chunks and an
unreachable secondary cost neither a duplicate nor a gap; a tenant without P1/P2 fails sign-ins clearly.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from datetime import timedelta

import pytest

from entrabackup import graph
from entrabackup.graph import ClientSecret, GraphClient, custom_cloud
from graph_emulator.testing import InProcessEmulator
from jobs.logbackup.cache import LogCache
from jobs.logbackup.engine import Run, Target, backup_log_type
from jobs.logbackup.types import LOG_TYPES, parse_time

from .stores import CountingStore, FailingStore, open_store

ROLES = ["AuditLog.Read.All", "Directory.Read.All", "User.ReadWrite.All"]
DELAYS = {"enabled": True, "seed": 3, "quantiles": [[0.0, 0.0], [0.5, 30.0], [0.95, 120.0], [0.99, 300.0],
                                                      [1.0, 1200.0]]}
OVERLAP = timedelta(minutes=25)  # longer than the longest delay configured above
_seeds = itertools.count(7300)


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with InProcessEmulator(tmp_path_factory.mktemp("logs-emulator")) as emulator:
        yield emulator


class Tenant:
    def __init__(self, emu, tmp_path, licence="P2"):
        self.emu = emu
        self.tid = emu.control.create_tenant(seed=next(_seeds), users=40, licence=licence)["tenant_id"]
        app = emu.control.register_app(self.tid, ROLES)
        cloud = custom_cloud(emu.url, emu.url, emu.ca_path, name="emulator")
        self.client = GraphClient(cloud, self.tid, app["client_id"], ClientSecret(app["client_secret"]), pacing=False)
        emu.control.configure(self.tid, arrival_delays=DELAYS, signins_per_minute=2)
        self.cache_dir = tmp_path / "cache"
        self.primary = Target("primary", open_store(tmp_path / "primary"))
        self.secondary = Target("secondary", open_store(tmp_path / "secondary"))
        self.sessions = itertools.count(1)
        self.users = [u["id"] for u in emu.control.export(self.tid)["users"]]

    def now(self):
        return parse_time(self.emu.control.mutate(self.tid, "advance_clock", seconds=0)["tenant_time"])

    def activity(self, minutes: int) -> None:
        """Some directory writes (audit records), then the clock moves on."""
        for uid in self.users[:5]:
            self.emu.control.mutate(self.tid, "update_user", id=uid, properties={"jobTitle": f"t{minutes}"})
        self.emu.control.mutate(self.tid, "advance_clock", seconds=minutes * 60)

    def run(self, key: str, *, secondary=True, start_at=None, **kwargs):
        with LogCache(self.cache_dir).open(self.tid, key) as cache:
            run = Run(client=self.client, log_type=LOG_TYPES[key], tenant=self.tid,
                      session=f"s{next(self.sessions)}", primary=self.primary, cache=cache, overlap=OVERLAP,
                      now=self.now(), retention=timedelta(hours=3), secondary=self.secondary if secondary else None,
                      **kwargs)
            return backup_log_type(run)

    def stored(self, target: Target, key: str) -> Counter:
        store = target.store
        return Counter(r["id"] for m in store.manifests(self.tid, key) for r in store.read_chunk(m))

    def truth(self, key: str, since) -> set[str]:
        """Every record Graph serves from `since` once all have arrived (a plain read, no cache)."""
        log_type = LOG_TYPES[key]
        url = f"{self.client.cloud.graph_url}/beta{log_type.path}" if log_type.beta else log_type.path
        params = {"$filter": log_type.filter(since, self.now()), "$top": "1000"}
        return {r["id"] for r in self.client.iter_values(url, params=params)}


@pytest.fixture
def tenant(emu, tmp_path):
    made = Tenant(emu, tmp_path)
    yield made
    made.client.close()


def _settle(tenant):
    tenant.emu.control.mutate(tenant.tid, "advance_clock", seconds=1500)  # past every arrival delay


@pytest.mark.parametrize("key", ["audit", "signin-noninteractive"])
def test_repeated_overlapping_sessions_store_every_served_record_exactly_once(tenant, key):
    first = tenant.run(key)
    since = parse_time(first.start)
    results = []
    for _ in range(6):
        tenant.activity(7)
        results.append(tenant.run(key))
    _settle(tenant)
    results.append(tenant.run(key))
    stored = tenant.stored(tenant.primary, key)
    assert max(stored.values()) == 1
    assert set(stored) == tenant.truth(key, since)
    assert sum(r.duplicates for r in results) > 0  # the overlap really re-read records
    assert tenant.stored(tenant.secondary, key) == stored


def test_a_lost_cache_is_rebuilt_from_the_manifests_without_duplicates(tenant):
    since = parse_time(tenant.run("audit").start)
    tenant.activity(10)
    tenant.run("audit")
    shutil.rmtree(tenant.cache_dir)
    tenant.activity(10)
    result = tenant.run("audit")
    assert result.duplicates > 0
    _settle(tenant)
    tenant.run("audit")
    stored = tenant.stored(tenant.primary, "audit")
    assert max(stored.values()) == 1 and set(stored) == tenant.truth("audit", since)


def test_a_crash_between_chunks_loses_and_duplicates_nothing(tenant):
    since = parse_time(tenant.run("signin", chunk_size=3).start)
    tenant.activity(30)
    real = tenant.primary.store
    tenant.primary.store = FailingStore(real, after_chunks=2, stored_last=True)
    with pytest.raises(RuntimeError, match="crash"):
        tenant.run("signin", chunk_size=3)
    tenant.primary.store = real
    tenant.run("signin", chunk_size=3)
    _settle(tenant)
    tenant.run("signin", chunk_size=3)
    stored = tenant.stored(tenant.primary, "signin")
    assert max(stored.values()) == 1 and set(stored) == tenant.truth("signin", since)
    assert tenant.stored(tenant.secondary, "signin") == stored  # the chunks stored before the crash reached it


def test_a_steady_state_session_reads_no_primary_chunk(tenant):
    tenant.run("audit")
    tenant.activity(10)
    tenant.run("audit")
    tenant.activity(10)
    counting = tenant.primary.store = CountingStore(tenant.primary.store)
    steady = tenant.run("audit")
    assert steady.new > 0 and steady.copied == steady.new
    assert counting.chunks_read == 0
    tenant.primary.store = counting.real
    assert tenant.stored(tenant.secondary, "audit") == tenant.stored(tenant.primary, "audit")


def test_the_secondary_catches_up_after_an_outage(tenant):
    tenant.run("audit")
    tenant.activity(10)
    real = tenant.secondary.store
    tenant.secondary.store = FailingStore(real, after_chunks=0)
    down = tenant.run("audit")
    assert any("secondary repository secondary not written" in w for w in down.warnings)
    assert tenant.stored(tenant.secondary, "audit") != tenant.stored(tenant.primary, "audit")
    tenant.secondary.store = real
    tenant.activity(10)
    counting = tenant.primary.store = CountingStore(tenant.primary.store)
    up = tenant.run("audit")
    tenant.primary.store = counting.real
    assert up.copied > 0 and counting.chunks_read > 0  # the catch-up read what the secondary missed
    assert tenant.stored(tenant.secondary, "audit") == tenant.stored(tenant.primary, "audit")


def test_sign_ins_without_a_licence_fail_clearly(emu, tmp_path):
    free = Tenant(emu, tmp_path, licence="free")
    with pytest.raises(graph.LicenceRequiredError):
        free.run("signin")
    assert free.run("audit").read >= 0
    free.client.close()


def test_a_session_past_the_retention_edge_names_the_lost_range(tenant):
    tenant.run("audit")
    tenant.emu.control.mutate(tenant.tid, "advance_clock", seconds=4 * 3600)
    result = tenant.run("audit")
    assert any("could no longer be read" in w for w in result.warnings)


def test_records_are_ordered_by_time_then_id_and_cut_at_utc_midnight():
    """Graph serves a slice newest first; equal times are ordered by id, whatever order they came in."""
    from jobs.logbackup.engine import _days, by_time  # what _store cuts chunks by
    from jobs.logbackup.types import parse_times

    times = ["2026-05-02T00:00:00.0000001Z", "2026-05-01T23:59:59.9999999Z", "2026-05-01T23:59:59Z",
             "2026-05-01T10:00:00.5Z", "2026-05-01T10:00:00.5000000Z", "2026-05-01T10:00:00.5Z"]
    records = [{"id": rid, "activityDateTime": at} for rid, at in zip("fedcab", times, strict=True)]
    rows, stamps = by_time(LOG_TYPES["audit"], records)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e", "f"]
    assert stamps == sorted(stamps) and stamps == [parse_time(r["activityDateTime"]) for r in rows]
    assert [(str(day), low, high) for day, low, high in _days(stamps)] == [("2026-05-01", 0, 5), ("2026-05-02", 5, 6)]
    distinct = records[:4]  # no two at one time: one sort by time alone
    assert [r["id"] for r in by_time(LOG_TYPES["audit"], distinct)[0]] == ["c", "d", "e", "f"]
    for texts in (times, [*times, "2026-05-01T10:00:00"]):  # all in Graph's form, or one not: each as parse_time
        assert parse_times(texts) == [parse_time(t) for t in texts]
