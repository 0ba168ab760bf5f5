"""Start the product's own processes (a backup proxy, ...) against the test database."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test run uses (pytest-django's test database)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{auth}@/{db['NAME']}?host={quote(host)}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def product_env(**extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "entrabackup.settings",
        "DATABASE_URL": test_database_url(),
        "ENTRABACKUP_SECRETS_KEY_FILE": str(settings.SECRETS_KEY_FILE),  # the test run's key, not var/'s
    }
    env.update(extra)
    return env


@contextmanager
def backup_proxy(*, workers: int = 1, heartbeat: float = 0.5, name: str | None = None, **env: str):
    """A real `manage.py qcluster` process on the test database; stopped (all its workers too) on exit.

    `heartbeat`: seconds between a session's heartbeats (short, so fail-over tests need not wait);
    `name`: the proxy's name (ENTRABACKUP_PROXY_NAME), to route pinned jobs to it; `env`: more variables."""
    extra = {**({"ENTRABACKUP_PROXY_NAME": name} if name else {}), **env}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=product_env(ENTRABACKUP_PROXY_WORKERS=str(workers), ENTRABACKUP_SESSION_HEARTBEAT_INTERVAL=str(heartbeat),
                        **extra),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        stop_groups(process)


def stop_groups(*started: subprocess.Popen) -> None:
    """SIGTERM to each (as systemd stops a unit), a wait, then SIGKILL to each one's whole process group (a
    proxy's workers too); the processes must have been started with start_new_session=True."""
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(30)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(predicate, timeout: float = 60.0, *, interval: float = 0.2, message: str = "condition not met in time"):
    """Poll `predicate` until it returns something truthy and return that; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} ({timeout:.0f} s)")
