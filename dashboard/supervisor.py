"""Run a few long-lived child processes together and stop all of them together.

Used by `manage.py demo`. Each child runs in its own session (process group), so on Ctrl-C or SIGTERM
every child is stopped: first SIGTERM to it with a grace period, then SIGKILL to its whole group (a
django-q2 cluster's workers included). Nothing is left behind.
"""

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, *, grace_seconds: float = 20.0):
        self.children: list[Child] = []
        self.grace_seconds = grace_seconds
        self._stopping = False

    def start(self, name: str, argv: list[str], *, cwd: str | None = None, env: dict | None = None) -> Child:
        child = Child(name=name, argv=argv)
        child.process = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
        self.children.append(child)
        return child

    def wait(self) -> int:
        """Block until a signal arrives or a child exits; then stop everything. Returns the exit status."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            while not self._stopping:
                for child in self.children:
                    code = child.process.poll()
                    if code is not None:
                        logger.error("%s exited with status %s; stopping the others", child.name, code)
                        self._stopping, status = True, code or 1
                time.sleep(0.2)
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def stop_all(self) -> None:
        # SIGTERM to the leader only: a django-q2 cluster stops its own workers in order, and dies
        # slowly when they are signalled behind its back.
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + self.grace_seconds
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it", child.name)
            # Workers of a cluster can outlive their parent: always sweep the whole group.
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()

    def _on_signal(self, signum, frame):
        self._stopping = True


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
