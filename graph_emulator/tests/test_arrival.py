"""Per-record arrival delays: a record with time T shows at T + d, d drawn per record by seed."""

from graph_emulator import arrival
from graph_emulator.common import iso_precise, parse_iso

SPEC = {"enabled": True, "seed": 7, "quantiles": [[0.0, 0.0], [0.5, 30.0], [0.95, 120.0], [0.99, 300.0], [1.0, 1800.0]]}


def test_delays_are_deterministic_by_seed_and_follow_the_quantile_table():
    config = {"arrival_delays": SPEC}
    delays = sorted(arrival.delay_of(config, f"id-{i}") for i in range(4000))
    assert delays == sorted(arrival.delay_of(config, f"id-{i}") for i in range(4000))
    assert 20 <= delays[2000] <= 40 and 100 <= delays[3800] <= 140 and max(delays) <= 1800
    assert delays[-1] > 300  # a tail beyond the p99
    other = {"arrival_delays": {**SPEC, "seed": 8}}
    assert [arrival.delay_of(other, f"id-{i}") for i in range(50)] != [arrival.delay_of(config, f"id-{i}") for i in range(50)]


def test_delays_are_off_by_default_and_add_to_the_fixed_delay():
    assert arrival.delay_of({"audit_delay_seconds": 5}, "x") == 5
    assert arrival.delay_of({"audit_delay_seconds": 5, "arrival_delays": SPEC}, "x") >= 5
    assert arrival.max_delay({"audit_delay_seconds": 5, "arrival_delays": SPEC}) == 1805


def test_audit_records_and_sign_ins_arrive_one_by_one(fresh, emu):
    g = fresh(roles=["AuditLog.Read.All", "Directory.Read.All"])
    emu.control.configure(g.tid, arrival_delays=SPEC, signins_per_minute=5)
    users = g.export()["users"]
    written = [g.mutate("update_user", id=u["id"], properties={"jobTitle": "Late"})["audit_ids"][0] for u in users[:30]]
    audits = lambda: {a["id"] for a in g.all_pages("/v1.0/auditLogs/directoryAudits")}  # noqa: E731
    early = set(written) & audits()
    assert len(early) < len(written)
    g.mutate("advance_clock", seconds=200)
    g2 = type(g)(emu, g.tenant, ["AuditLog.Read.All", "Directory.Read.All"])
    middle = set(written) & {a["id"] for a in g2.all_pages("/v1.0/auditLogs/directoryAudits")}
    assert early < middle
    g2.mutate("advance_clock", seconds=1800)
    g3 = type(g)(emu, g.tenant, ["AuditLog.Read.All", "Directory.Read.All"])
    assert set(written) <= {a["id"] for a in g3.all_pages("/v1.0/auditLogs/directoryAudits")}
    since = iso_precise(parse_iso(g3.mutate("advance_clock", seconds=0)["tenant_time"]) - 3600)
    window = f"/beta/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser') and createdDateTime ge {since}"
    seen_now = {s["id"] for s in g3.all_pages(window)}
    g3.mutate("advance_clock", seconds=1800)
    g4 = type(g)(emu, g.tenant, ["AuditLog.Read.All", "Directory.Read.All"])
    assert seen_now < {s["id"] for s in g4.all_pages(window)}  # late ones joined, none left

