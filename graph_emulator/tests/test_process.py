"""Real subprocess via testing.running_emulator: ready line, persistence across restart, CLI, SIGTERM."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from graph_emulator.tests.conftest import Graph


def test_running_emulator_serves_and_state_survives_restart(tmp_path):
    from graph_emulator.testing import running_emulator

    with running_emulator(tmp_path) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        key_mode = stat.S_IMODE(os.stat(tmp_path / "admin.key").st_mode)
        assert key_mode == 0o600
        tenant = emu.control.create_tenant(seed=3, users=25)
        g = Graph(emu, tenant, ["Directory.ReadWrite.All", "User.ReadWrite.All"])
        uid = g.export()["users"][4]["id"]
        assert g.http.patch(f"/v1.0/users/{uid}", json={"jobTitle": "Persisted"}).status_code == 204
        g.mutate("delete_user", id=g.export()["users"][5]["id"])
        before = g.export()
        ca_before = (tmp_path / "pki" / "ca.pem").read_text()
    assert emu.process.returncode == 0
    with running_emulator(tmp_path) as emu2:
        assert (tmp_path / "pki" / "ca.pem").read_text() == ca_before
        after = emu2.control.export(tenant["tenant_id"])
        assert [u for u in after["users"] if u["id"] == uid][0]["jobTitle"] == "Persisted"
        assert after["deletedItems"] == before["deletedItems"]
        assert len(after["users"]) == len(before["users"])


def test_cli_creates_tenant_and_registers_app_without_a_server(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-m", "graph_emulator", "tenant-create", "--state-dir", str(tmp_path),
                          "--seed", "4", "--users", "15"], capture_output=True, text=True, env=env, check=True)
    tenant = json.loads(out.stdout)
    secret_file = tmp_path / "secret.txt"
    out = subprocess.run([sys.executable, "-m", "graph_emulator", "app-register", "--state-dir", str(tmp_path),
                          "--tenant", tenant["tenant_id"], "--roles", "User.Read.All", "--secret-file",
                          str(secret_file)], capture_output=True, text=True, env=env, check=True)
    app = json.loads(out.stdout)
    assert "client_secret" not in app and secret_file.read_text()
    assert secret_file.read_text() not in out.stdout + out.stderr
