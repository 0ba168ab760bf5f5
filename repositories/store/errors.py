"""Errors of the repository store, and turning connection failures into messages an operator can act on.

Messages name the host, port, database and user of the repository, never its password.
"""

import logging

import psycopg
from psycopg import errors as pgerrors

logger = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The repository cannot do what was asked (unreachable, refused, busy, unknown tenant...)."""


class SchemaError(StoreError):
    """The repository's schema is missing, older than this code (run migrate) or newer (upgrade)."""


def where(conninfo: str) -> str:
    """`database "x" on host:port as user` from a conninfo, without the password."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "the repository database (invalid connection string)"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    user = params.get("user") or "the current user"
    return f'database "{params.get("dbname") or "?"}" on {host}:{port} as {user}'


# (sqlstate or message fragment, explanation); the first match wins.
_REASONS = [
    ("3D000", "the database does not exist"),
    ("28P01", "authentication failed (wrong user name or password)"),
    ("28000", "authentication failed (the server refused this user)"),
    ("42501", "permission denied"),
    ("does not exist", "the database does not exist"),
    ("password authentication failed", "authentication failed (wrong user name or password)"),
    ("no password supplied", "authentication failed (no password given)"),
    ("permission denied", "permission denied"),
    ("No such file or directory", "the server is unreachable (no server listens on that socket)"),
    ("Connection refused", "the server is unreachable (connection refused)"),
    ("could not translate host name", "the server is unreachable (unknown host name)"),
    ("timeout expired", "the server is unreachable (connection timed out)"),
]


def explain(exc: Exception, conninfo: str) -> StoreError:
    """A StoreError saying why connecting to (or using) the repository failed."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    text = str(exc)
    reason = next((why for key, why in _REASONS if key == sqlstate or (len(key) > 5 and key in text)), None)
    if reason is None:
        first_line = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
        reason = first_line.removeprefix("FATAL:").strip()
    return StoreError(f"Cannot use the repository ({where(conninfo)}): {reason}.")


def connect(conninfo: str, *, connect_timeout: int = 10) -> psycopg.Connection:
    """An autocommit connection, or a StoreError that explains the failure."""
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=connect_timeout)
    except psycopg.Error as exc:
        logger.warning("Repository connection failed: %s", where(conninfo))
        raise explain(exc, conninfo) from None


LOCK_NOT_AVAILABLE = (pgerrors.LockNotAvailable,)
