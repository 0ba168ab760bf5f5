"""`make demo` end to end: everything comes up, the printed login works, Ctrl-C leaves nothing behind."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.support.processes import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until(process, marker: str, timeout: float) -> str:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed within {timeout} s:\n{''.join(seen)}")


@pytest.mark.e2e
def test_demo_runs_the_product_and_ctrl_c_stops_every_process(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENTRABACKUP_SECRETS_KEY"}}
    env.update(ENTRABACKUP_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="entrabackup.settings",
               PYTHONUNBUFFERED="1")
    demo = subprocess.Popen([sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = _read_until(demo, "entrabackup is running", timeout=180)
        password = re.search(r"Administrator login: admin / (\S+)", output).group(1)
        assert "Ready:" in output  # the emulated tenant was registered and its connection tested
        assert "First backup queued as session 1" in output
        children = psutil.Process(demo.pid).children(recursive=True)
        postmaster = next(p for p in psutil.process_iter(["cmdline"])
                          if str(tmp_path / "var" / "pg") in (p.info["cmdline"] or []))
        _log_in_and_see_the_dashboard(f"http://127.0.0.1:{port}", password)
    finally:
        demo.send_signal(signal.SIGINT)  # what Ctrl-C does
        demo.wait(90)
    assert demo.returncode == 0
    assert not [p for p in children + [postmaster] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _log_in_and_see_the_dashboard(base: str, password: str) -> None:
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
        for _ in range(100):
            try:
                login = client.get("/accounts/login/")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        page = client.post("/accounts/login/", data={"username": "admin", "password": password,
                                                     "csrfmiddlewaretoken": token, "next": "/"})
        assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
        assert "Contoso (emulated)" in client.get("/tenants/").text
        for _ in range(300):  # the first backup, run by the demo's proxy
            session = client.get("/jobs/sessions/1/").text
            if "status-success" in session or "status-failed" in session:
                break
            time.sleep(0.3)
        assert "status-success" in session and "restore point <strong>" in session
