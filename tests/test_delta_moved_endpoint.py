"""A tenant whose saved delta links name another Graph endpoint (the demo's emulator came back on another
port, or the tenant's Graph URL was changed) gets a full reconciliation with a warning, never a failure."""

import psycopg
import pytest

from jobs.models import BackupSession
from jobs.runner import session_run
from jobs.services import session_create
from repositories.services import repository_conninfo

pytestmark = [pytest.mark.e2e]
DELTA_TYPES = ["user", "group", "application", "servicePrincipal", "administrativeUnit", "device"]


def _run(job) -> BackupSession:
    session = session_create(job=job, object_types=DELTA_TYPES)
    session_run(session_id=session.pk)  # here rather than on a proxy; the emulator and repository are real
    session.refresh_from_db()
    return session


def _move_saved_links(job, old: str, new: str) -> int:
    with psycopg.connect(repository_conninfo(job.repository), autocommit=True) as conn:
        return conn.execute("UPDATE sync_state SET value = replace(value, %s, %s) WHERE name LIKE 'delta:%%'",
                            (old, new)).rowcount


@pytest.mark.django_db(transaction=True)
def test_saved_delta_links_of_another_host_give_a_full_reconciliation_with_a_warning(backed_tenant, emulator):
    tenant, job, info = backed_tenant
    assert _run(job).status == "success"
    assert _move_saved_links(job, emulator.url, "https://127.0.0.1:1") >= len(DELTA_TYPES)
    user = next(u for u in emulator.control.export(info["tenant_id"])["users"] if not u.get("onPremisesSyncEnabled"))
    emulator.control.mutate(info["tenant_id"], "hard_delete", id=user["id"])

    moved = _run(job)
    assert moved.status == "warning", moved.error
    assert {t: s["mode"] for t, s in moved.stats.items()} == dict.fromkeys(DELTA_TYPES, "resync")
    assert sum("names another Graph endpoint than the tenant's; did a full read" in w for w in moved.warnings) == 6
    assert moved.stats["user"]["deleted"] == 1  # a full read: the object it did not see is gone

    again = _run(job)  # the links saved by the full read are the tenant's own: back to incremental rounds
    assert again.status == "success" and {s["mode"] for s in again.stats.values()} == {"delta"}
