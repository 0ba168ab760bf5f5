"""Errors of the repository store, and turning connection failures into messages an operator can act on.

Every failure is a StoreError subclass that says what kind of failure it is, so callers catch types, never
match message text. Messages name the host, port, database and user of the repository, never its password.
"""

import logging

import psycopg

logger = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The repository cannot do what was asked. Subclasses say why."""


class StoreUnavailableError(StoreError):
    """The server cannot be reached, or the connection broke: trying again later may succeed."""


class StoreAccessError(StoreError):
    """The server refused: the database does not exist, authentication failed or permission is missing."""


class SchemaError(StoreError):
    """The repository's schema is missing, older than this code (run migrate) or newer (upgrade)."""


class TenantLockedError(StoreError):
    """Another session holds the tenant's lock in the repository."""


class StoreNotFoundError(StoreError):
    """The tenant or the restore point asked for is not in the repository."""


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


# (sqlstate or message fragment, explanation, error class); the first match wins.
_REASONS = [
    ("3D000", "the database does not exist", StoreAccessError),
    ("28P01", "authentication failed (wrong user name or password)", StoreAccessError),
    ("28000", "authentication failed (the server refused this user)", StoreAccessError),
    ("42501", "permission denied", StoreAccessError),
    ('role "', "authentication failed (the server does not know this user)", StoreAccessError),
    ("does not exist", "the database does not exist", StoreAccessError),
    ("password authentication failed", "authentication failed (wrong user name or password)", StoreAccessError),
    ("no password supplied", "authentication failed (no password given)", StoreAccessError),
    ("permission denied", "permission denied", StoreAccessError),
    ("No such file or directory", "the server is unreachable (no server listens on that socket)", StoreUnavailableError),
    ("Connection refused", "the server is unreachable (connection refused)", StoreUnavailableError),
    ("could not translate host name", "the server is unreachable (unknown host name)", StoreUnavailableError),
    ("timeout expired", "the server is unreachable (connection timed out)", StoreUnavailableError),
    ("server closed the connection", "the server closed the connection", StoreUnavailableError),
    ("terminating connection", "the server ended the connection", StoreUnavailableError),
]


def explain(exc: Exception, conninfo: str) -> StoreError:
    """A StoreError subclass saying why connecting to (or using) the repository failed."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    text = str(exc)
    found = next(((why, cls) for key, why, cls in _REASONS if key == sqlstate or (len(key) > 5 and key in text)), None)
    if found is None:
        first_line = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
        found = (first_line.removeprefix("FATAL:").strip(), _fallback_class(exc))
    reason, cls = found
    return cls(f"Cannot use the repository ({where(conninfo)}): {reason}.")


def _fallback_class(exc: Exception) -> type[StoreError]:
    # A connection that failed or broke for a reason we do not know may well work later; anything the server
    # answered with an error of its own is not about reachability.
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not getattr(exc, "sqlstate", None):
        return StoreUnavailableError
    return StoreError


def connect(conninfo: str, *, connect_timeout: int = 10) -> psycopg.Connection:
    """An autocommit connection, or a StoreError that explains the failure."""
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=connect_timeout)
    except psycopg.Error as exc:
        logger.warning("Repository connection failed: %s", where(conninfo))
        raise explain(exc, conninfo) from None
