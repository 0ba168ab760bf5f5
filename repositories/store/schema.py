"""The repository's own schema migrations: numbered SQL files in `migrations/`, applied in order.

Each file runs in its own transaction together with its row in `schema_migrations`, under a transaction-level
advisory lock, so two processes migrating the same repository at once apply each version exactly once.
"""

import logging
import re
from pathlib import Path

import psycopg

from repositories.store.errors import SchemaError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATE_LOCK = 0x45425301  # advisory lock key of migrate()
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def available() -> list[tuple[int, str, Path]]:
    """(version, name, path) of every migration file, in order."""
    found = []
    for path in MIGRATIONS_DIR.iterdir():
        match = _FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path))
    return sorted(found)


LATEST = available()[-1][0]


def current_version(conn: psycopg.Connection) -> int:
    """The highest applied version; 0 for an empty database."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the pending migrations; return the versions this call applied."""
    applied = []
    for version, name, path in available():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])
            conn.execute(_CREATE_TABLE)
            done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", [version]).fetchone()
            if done:
                continue
            logger.info("Applying repository migration %04d_%s", version, name)
            conn.execute(path.read_text())
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", [version, name])
            applied.append(version)
    return applied


def require_current(conn: psycopg.Connection) -> int:
    """The schema version, or SchemaError when the code and the repository disagree."""
    version = current_version(conn)
    if version == 0:
        raise SchemaError("The repository database has no schema yet: run migrate() first.")
    if version < LATEST:
        raise SchemaError(f"The repository schema is version {version}, this code needs {LATEST}: run migrate().")
    if version > LATEST:
        raise SchemaError(f"The repository schema is version {version}, newer than this code knows ({LATEST}): "
                          "upgrade entrabackup.")
    return version
