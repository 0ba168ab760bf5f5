"""The Entra ID backup repository store: every version of every directory object, as restore points.

Plain psycopg 3 (no Django); see docs/repository.md for the data model and its guarantees.
"""

from repositories.store.errors import (
    SchemaError,
    StoreAccessError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
    TenantLockedError,
)
from repositories.store.rows import ObjectRow, RelationRow, RestorePoint, TypeCounts, VersionRow
from repositories.store.store import RepositoryStore
from repositories.store.writer import SessionWriter

__all__ = ["ObjectRow", "RelationRow", "RepositoryStore", "RestorePoint", "SchemaError", "SessionWriter",
           "StoreAccessError", "StoreError", "StoreNotFoundError", "StoreUnavailableError", "TenantLockedError",
           "TypeCounts", "VersionRow"]
