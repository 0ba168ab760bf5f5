"""One demo at a time: the lock names the running demo, and a stale lock is taken over."""

import json
import subprocess
import sys

import psutil
import pytest

from dashboard.lock import DemoLock, DemoRunningError


def test_a_second_demo_is_refused_with_the_pid_and_address_of_the_first(tmp_path):
    path = tmp_path / "demo.lock"
    with DemoLock(path, "http://127.0.0.1:8000/"):
        child = subprocess.run(
            [sys.executable, "-c", "import sys; from dashboard.lock import DemoLock; DemoLock(sys.argv[1], 'x').acquire()",
             str(path)], capture_output=True, text=True, check=False)
        assert child.returncode != 0
        assert "A demo is already running (pid" in child.stderr and "http://127.0.0.1:8000/" in child.stderr
        assert json.loads(path.read_text())["url"] == "http://127.0.0.1:8000/"  # the refused one left it alone
    assert not path.exists()  # released on exit


def test_the_lock_of_a_process_that_is_gone_is_stale_and_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = tmp_path / "demo.lock"
    path.write_text(json.dumps({"pid": int(dead.stdout), "url": "http://old/", "started": 1.0}))
    with DemoLock(path, "http://new/"):
        assert json.loads(path.read_text())["url"] == "http://new/"


def test_a_recycled_pid_does_not_hold_the_lock(tmp_path):
    # Our own pid, but a start time that is not ours: the pid now belongs to another process.
    path = tmp_path / "demo.lock"
    me = psutil.Process()
    path.write_text(json.dumps({"pid": me.pid, "url": "http://old/", "started": me.create_time() - 3600}))
    with DemoLock(path, "http://new/"):
        pass


def test_an_unreadable_lock_is_stale(tmp_path):
    path = tmp_path / "demo.lock"
    path.write_text("{half a json")
    DemoLock(path, "u").acquire()
    with pytest.raises(DemoRunningError, match=r"pid \d+, u\)"):
        DemoLock(path, "v").acquire()
