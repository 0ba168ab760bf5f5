"""One end-to-end run against the emulator as a real subprocess (its own HTTPS server, journal, clock)."""

from __future__ import annotations

import pytest

from graph_emulator.testing import running_emulator

from .conftest import Tenant
from .truth import assert_matches

pytestmark = pytest.mark.e2e


def test_backup_through_a_real_emulator_process(tmp_path, store):
    with running_emulator(tmp_path / "emulator") as emu:
        t = Tenant(emu, store, users=25)
        try:
            rp, results, _ = t.backup(full=True)
            assert_matches(t.snapshot(rp), t.truth())
            uid = sorted(u["id"] for u in emu.control.export(t.tid)["users"])[1]
            t.mutate("update_user", id=uid, properties={"officeLocation": "B7"})
            t.mutate("delete_user", id=uid)
            rp, results, _ = t.backup(full=False)
            assert results["user"].mode == "delta" and results["user"].counts["deleted"] == 1
            snap = t.snapshot(rp)
            assert snap["deleted"][uid] == "soft"
            assert_matches(snap, t.truth())
        finally:
            t.close()
