"""Log reads use the whole audit-log budget and no more: 5 requests per 10 s per app and tenant
(https://learn.microsoft.com/graph/throttling-limits#identity-and-access-reports-service-limits).

The product's Graph client, with its pacer on, pages through a tenant's directory audits on the emulator with
throttling on (a sliding window of 5 report requests per 10 s). Small pages ($top=5) make many requests.
No request may meet a 429 from the reports budget, and after the first window the client must keep close
to the budget (at least 4 requests per 10 s), not idle below it.
"""

from __future__ import annotations

import time

import pytest

from entrabackup.graph import ClientSecret, GraphClient, custom_cloud, reset_pacers
from graph_emulator.testing import InProcessEmulator

PAGES = 16  # ~5 at once, then one every 2 s: about 25 s


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with InProcessEmulator(tmp_path_factory.mktemp("budget-emulator")) as emulator:
        yield emulator


def test_audit_reads_use_the_whole_reports_budget_and_no_more(emu):
    tid = emu.control.create_tenant(seed=7400, users=20, licence="P2")["tenant_id"]
    app = emu.control.register_app(tid, ["AuditLog.Read.All", "Directory.Read.All", "User.ReadWrite.All"])
    users = [u["id"] for u in emu.control.export(tid)["users"]]
    for n in range(PAGES * 5):
        emu.control.mutate(tid, "update_user", id=users[n % len(users)], properties={"jobTitle": f"t{n}"})
    emu.control.mutate(tid, "advance_clock", seconds=3600)  # every record has arrived
    emu.control.configure(tid, throttling={"enabled": True, "reports_per_10s": 5})
    reset_pacers()
    cloud = custom_cloud(emu.url, emu.url, emu.ca_path, name="emulator")
    client = GraphClient(cloud, tid, app["client_id"], ClientSecret(app["client_secret"]))  # pacing on

    sent = []  # when each page arrived
    records = 0
    for page in client.iter_pages("/auditLogs/directoryAudits", params={"$top": "5"}):
        sent.append(time.monotonic())
        records += len(page.get("value", []))

    assert records >= PAGES * 5
    assert client.stats.throttled_429 == 0, "the pacer sent more than the reports budget allows"
    assert client.stats.requests == len(sent) >= PAGES
    # After the first window (its burst of 5), the requests that follow keep to the budget's rate.
    first = sent[0]
    later = [t for t in sent if t > first + 10]
    span = sent[-1] - (first + 10)
    assert span > 5 and len(later) >= 2
    rate = len(later) / span * 10
    assert rate >= 4, f"{rate:.1f} requests per 10 s after the first window; the budget is 5"
