"""The local PostgreSQL: from nothing, reused, and recovering from what crashed processes leave behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from entrabackup import localdb

ROOT = Path(__file__).resolve().parent.parent
STARTER = (
    "import sys, time; from pathlib import Path; from entrabackup import localdb; "
    "server = localdb.ensure_running(Path(sys.argv[1])); print(server.pid, flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


@pytest.fixture
def pgdata(tmp_path):
    path = tmp_path / "pg"
    yield path
    localdb.stop(path)


def _starter(pgdata: Path, linger: float = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", STARTER, str(pgdata), str(linger)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def _query(server: localdb.LocalServer) -> int:
    with psycopg.connect(server.conninfo()) as conn:
        return conn.execute("SELECT 41 + 1").fetchone()[0]


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and cmdline[0].endswith("/postgres") and str(pgdata.resolve()) in cmdline:
            found.append(proc)
    return found


def test_starts_a_new_server_from_nothing_and_creates_the_database(pgdata):
    server = localdb.ensure_running(pgdata)
    localdb.ensure_database(server, "configdb")
    assert (pgdata / "PG_VERSION").exists()
    assert _query(server) == 42
    with psycopg.connect(server.conninfo("configdb")) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "configdb"
    assert server.socket_dir == pgdata.resolve()  # Unix socket only, in the data folder


def test_reuses_a_running_server(pgdata):
    first = localdb.ensure_running(pgdata)
    second = localdb.ensure_running(pgdata)
    assert second.pid == first.pid
    assert len(_postmasters(pgdata)) == 1


def test_recovers_from_a_stale_pid_file_of_a_dead_server(pgdata):
    first = localdb.ensure_running(pgdata)
    pid_file = (pgdata / "postmaster.pid").read_text()
    os.kill(first.pid, signal.SIGKILL)  # a crash: the pid file stays behind
    psutil.Process(first.pid).wait(10) if psutil.pid_exists(first.pid) else None
    (pgdata / "postmaster.pid").write_text(pid_file)
    assert localdb.read_server(pgdata) is None
    server = localdb.ensure_running(pgdata)
    assert server.pid != first.pid
    assert _query(server) == 42


def test_a_pid_file_naming_an_unrelated_live_process_is_treated_as_stale(pgdata):
    first = localdb.ensure_running(pgdata)
    localdb.stop(pgdata)
    lines = [str(os.getpid()), str(pgdata), "0", "5432", str(pgdata), "", "", "ready"]
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
    server = localdb.ensure_running(pgdata)
    assert server.pid not in (first.pid, os.getpid())
    assert _query(server) == 42


def test_a_server_left_running_by_a_killed_process_is_reused(pgdata):
    starter = _starter(pgdata, linger=60)
    pid = int(starter.stdout.readline())
    starter.send_signal(signal.SIGKILL)
    starter.wait(10)
    server = localdb.ensure_running(pgdata)
    assert server.pid == pid
    assert _query(server) == 42


def test_processes_starting_it_at_once_end_with_one_server(pgdata):
    starters = [_starter(pgdata) for _ in range(3)]
    pids = {int(starter.communicate(timeout=60)[0]) for starter in starters}
    assert len(pids) == 1
    assert [proc.pid for proc in _postmasters(pgdata)] == list(pids)


def test_stop_is_a_fast_shutdown_and_reports_when_nothing_ran(pgdata):
    server = localdb.ensure_running(pgdata)
    started = time.monotonic()
    assert localdb.stop(pgdata) is True
    assert time.monotonic() - started < 10
    assert not psutil.pid_exists(server.pid) or psutil.Process(server.pid).status() == psutil.STATUS_ZOMBIE
    assert localdb.stop(pgdata) is False


def test_localdb_command_starts_reports_and_stops(tmp_path):
    env = {**os.environ, "ENTRABACKUP_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", "localdb", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    try:
        assert manage("status").returncode == 3
        started = manage("start")
        assert started.returncode == 0, started.stderr
        assert "running: pid" in started.stdout
        assert manage("status").returncode == 0
        assert manage("stop").stdout.strip() == "stopped"
        assert manage("status").returncode == 3
    finally:
        localdb.stop(tmp_path / "var" / "pg")
