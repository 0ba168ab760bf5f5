"""One demo per installation: a lock file holding the running demo's pid and address.

A second `manage.py demo` on the same var/ folder would share the first one's PostgreSQL and stop it on
exit, and re-point the demo tenant. The lock is taken before anything starts; a lock whose process is
gone (or whose pid now belongs to another process) is stale and taken over.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import psutil


class DemoRunningError(Exception):
    """Another demo holds the lock."""

    def __init__(self, holder: "LockHolder"):
        self.holder = holder
        super().__init__(f"A demo is already running (pid {holder.pid}, {holder.url}). "
                         f"Use that one, or stop it (Ctrl-C in its terminal, or kill {holder.pid}) first.")


@dataclass(frozen=True)
class LockHolder:
    pid: int
    url: str
    started: float  # the process's creation time: tells a live holder from a recycled pid

    def alive(self) -> bool:
        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) < 1.0
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False


class DemoLock:
    def __init__(self, path: Path, url: str):
        self.path, self.url = Path(path), url
        self.me = LockHolder(os.getpid(), url, psutil.Process().create_time())

    def acquire(self) -> None:
        """Take the lock, or raise DemoRunningError naming the demo that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        draft.write_text(json.dumps(vars(self.me)))
        try:
            for _ in range(2):  # once more after removing a stale lock
                try:
                    os.link(draft, self.path)  # appears whole, or not at all when the lock exists
                    return
                except FileExistsError:
                    holder = self.holder()
                    if holder is not None and holder.alive():
                        raise DemoRunningError(holder) from None
                    self.path.unlink(missing_ok=True)
            raise DemoRunningError(self.holder() or self.me)
        finally:
            draft.unlink(missing_ok=True)

    def holder(self) -> LockHolder | None:
        try:
            return LockHolder(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None  # unreadable or half written: treated as stale

    def release(self) -> None:
        if self.holder() == self.me:
            self.path.unlink(missing_ok=True)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()
