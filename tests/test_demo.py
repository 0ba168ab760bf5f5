"""`make demo` end to end: everything comes up, the printed login works, Ctrl-C leaves nothing behind, a
second demo is refused while one runs, and the demo survives a restart."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


class Demo:
    """`manage.py demo` on its own var/ folder, web server and emulator ports."""

    def __init__(self, var, port: int, emulator_port: int):
        self.var, self.port, self.emulator_port = var, port, emulator_port
        self.base = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENTRABACKUP_SECRETS_KEY"}}
        self.env.update(ENTRABACKUP_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="entrabackup.settings",
                        ENTRABACKUP_DEMO_EMULATOR_PORT=str(emulator_port), PYTHONUNBUFFERED="1")

    def start(self, *, port: int | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port or self.port}"],
                                cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def postmaster(self) -> psutil.Process:
        return next(p for p in psutil.process_iter(["cmdline"]) if str(self.var / "pg") in (p.info["cmdline"] or []))


@pytest.fixture
def var_dir():
    """The demo's var/ folder, outside pytest's own temporary root: pytest resets that root to mode 0700
    whenever a test run starts, and the local PostgreSQL (its own OS user) could then not start again."""
    folder = Path(tempfile.mkdtemp(prefix="entrabackup-demo-"))
    folder.chmod(0o755)
    yield folder / "var"
    shutil.rmtree(folder, ignore_errors=True)


def _ctrl_c(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)  # what Ctrl-C does
    process.wait(90)


def _alive(processes) -> list:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.e2e
def test_demo_runs_the_product_and_ctrl_c_stops_every_process(var_dir):
    demo = Demo(var_dir, _free_port(), _free_port())
    process = demo.start()
    try:
        output = _read_until(process, "entrabackup is running", timeout=180)
        password = re.search(r"Administrator login: admin / (\S+)", output).group(1)
        assert "Ready:" in output  # the emulated tenant was registered and its connection tested
        assert f"Graph emulator at https://127.0.0.1:{demo.emulator_port}" in output
        assert "First backup queued as session 1" in output
        children = psutil.Process(process.pid).children(recursive=True)
        postmaster = demo.postmaster()
        with _logged_in(demo.base, password) as client:
            assert "Contoso (emulated)" in client.get("/tenants/").text
            _wait_for_success(client, 1)
    finally:
        _ctrl_c(process)
    assert process.returncode == 0
    assert not _alive(children + [postmaster])
    assert not (demo.var / "demo.lock").exists()


@pytest.mark.e2e
def test_a_second_demo_is_refused_and_the_demo_survives_a_restart(var_dir):
    demo = Demo(var_dir, _free_port(), _free_port())
    first = demo.start()
    try:
        output = _read_until(first, "entrabackup is running", timeout=180)
        password = re.search(r"Administrator login: admin / (\S+)", output).group(1)
        postmaster = demo.postmaster()
        second = demo.start(port=_free_port())
        refusal, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert f"A demo is already running (pid {first.pid}, {demo.base}/)" in refusal
        assert "Preparing" not in refusal  # refused before touching anything
        assert postmaster.is_running() and first.poll() is None
        with _logged_in(demo.base, password) as client:  # the first demo still serves every page
            assert "Contoso (emulated)" in client.get("/tenants/").text
            _wait_for_success(client, 1)
    finally:
        _ctrl_c(first)
    assert first.returncode == 0

    again = demo.start()  # Ctrl-C, then `make demo` again
    try:
        output = _read_until(again, "entrabackup is running", timeout=180)
        assert f"Graph emulator at https://127.0.0.1:{demo.emulator_port}" in output  # the same address
        assert "First backup queued as session 2" in output
        with _logged_in(demo.base, password) as client:
            session = _wait_for_success(client, 2)
            assert "incremental ·" in session  # the delta links survived the restart
            assert '<td>Users <span class="muted">changes only</span></td>' in session
            assert "another Graph endpoint" not in session
    finally:
        _ctrl_c(again)
    assert again.returncode == 0


class _logged_in:
    def __init__(self, base: str, password: str):
        self.client = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
        self.password = password

    def __enter__(self) -> httpx.Client:
        for _ in range(100):
            try:
                login = self.client.get("/accounts/login/")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        page = self.client.post("/accounts/login/", data={"username": "admin", "password": self.password,
                                                          "csrfmiddlewaretoken": token, "next": "/"})
        assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
        return self.client

    def __exit__(self, *exc_info):
        self.client.close()


def _wait_for_success(client: httpx.Client, session_id: int) -> str:
    for _ in range(400):  # the backup, run by the demo's proxy
        session = client.get(f"/jobs/sessions/{session_id}/").text
        if "status-success" in session or "status-failed" in session or "status-warning" in session:
            break
        time.sleep(0.3)
    assert "status-success" in session and "restore point <strong>" in session, session[-3000:]
    return session
