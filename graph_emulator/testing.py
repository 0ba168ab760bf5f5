"""pytest-friendly helpers: run the emulator as a real subprocess (``running_emulator``) or in-process on a
thread (``InProcessEmulator``, fast unit tests)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from graph_emulator.control import EmulatorControl
from graph_emulator.server import Emulator, Server


@dataclass
class RunningEmulator:
    url: str
    ca_path: str
    admin_key: str
    control: EmulatorControl
    process: subprocess.Popen | None = None
    state_dir: Path | None = None


@contextlib.contextmanager
def running_emulator(state_dir, timeout: float = 30.0, extra_args: tuple = ()):
    """Start ``python -m graph_emulator serve`` as a subprocess; yield .url/.ca_path/.control/.process."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / f"ready-{os.getpid()}-{time.monotonic_ns()}.json"
    pkg_parent = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [pkg_parent, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "graph_emulator", "serve", "--state-dir", str(state_dir),
                             "--ready-file", str(ready), *extra_args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        info = _wait_ready(proc, ready, timeout)
        key = Path(info["admin_key_path"]).read_text().strip()
        control = EmulatorControl(info["url"], info["ca_path"], key)
        try:
            yield RunningEmulator(info["url"], info["ca_path"], key, control, proc, state_dir)
        finally:
            control.close()
    finally:
        _stop(proc)
        ready.unlink(missing_ok=True)


def _wait_ready(proc: subprocess.Popen, ready: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"graph emulator exited with {proc.returncode} before it was ready:\n{err[-4000:]}")
        if ready.exists():
            with contextlib.suppress(ValueError):
                return json.loads(ready.read_text())
        time.sleep(0.05)
    _stop(proc)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    raise RuntimeError(f"graph emulator not ready after {timeout}s:\n{err[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


class InProcessEmulator:
    """Same server on a daemon thread of this process (no subprocess start-up cost)."""

    def __init__(self, state_dir):
        self.emulator = Emulator(Path(state_dir))
        self.server = Server(self.emulator, 0)
        self.url = self.emulator.base
        self.ca_path = str(self.emulator.pki.ca_path)
        self.admin_key = self.emulator.admin_key
        self.control = EmulatorControl(self.url, self.ca_path, self.admin_key)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="graph-emulator")
        self.thread.start()

    def close(self) -> None:
        self.control.close()
        self.server.shutdown()
        self.server.server_close()
        self.emulator.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
