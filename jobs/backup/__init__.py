"""Directory backup collectors: read one object type of a tenant through the Graph client and feed it to a
repository session writer. Plain Python (no Django); the job orchestration calls them.

Usage::

    from jobs.backup import OBJECT_TYPES, TYPE_LABELS, BackupCancelled, backup_type

    with store.session(tenant_key, session_key, kind="incremental") as writer:
        for object_type in OBJECT_TYPES:
            result = backup_type(graph, writer, object_type, full=False,
                                 progress=lambda t, n: ..., cancelled=lambda: job.cancel_requested)
        writer.commit({...})

API
---
``OBJECT_TYPES``  the types in reading order; ``TYPE_LABELS`` type -> label for pages ("user" -> "Users");
                  both derived from the object type registry (``entrabackup/objecttypes.py``).
``backup_type(client, writer, object_type, *, full, progress=None, cancelled=lambda: False) -> TypeResult``
                  ``full=True`` forces a complete read of delta-tracked types (otherwise the saved delta link
                  is followed when there is one). ``progress(object_type, objects_read)`` after every page;
                  ``cancelled()`` before the first request and after every page -> ``BackupCancelled``
                  (leave the writer's ``with`` block without committing: nothing becomes visible).
``TypeResult``    ``object_type``, ``mode`` ("full" | "delta" | "resync"), ``counts`` (the writer's TypeCounts:
                  read/new/changed/unchanged/deleted), ``relations`` (kind -> counts), ``warnings``.

Strategies (details in deltatypes.py, owners.py, listings.py), chosen by each type's ``read`` in the registry:
- user, group, application, servicePrincipal, administrativeUnit, device, orgContact: delta query. Sync state
  ``delta:<type>`` holds the deltaLink, ``delta-select:<type>`` a fingerprint of the $select it was made with.
  Relations from delta: group_member, au_member (members@delta), manager (manager@delta). Owners
  (group_owner, app_owner, sp_owner) are read outside delta. Full rounds also read the recycle bin
  (/directory/deletedItems) to record soft deletions.
- every other type: a complete listing each session (directoryRole adds directory_role_member);
  appRoleAssignment and authenticationMethodsPolicy have readers of their own.
"""

from __future__ import annotations

from collections.abc import Callable

from entrabackup import objecttypes

from .common import OBJECT_TYPES, TYPE_LABELS, BackupCancelled, Pager, TypeResult
from .deltatypes import backup_delta_type
from .listings import backup_listed_type

__all__ = ["OBJECT_TYPES", "TYPE_LABELS", "BackupCancelled", "TypeResult", "backup_type"]


def backup_type(client, writer, object_type: str, *, full: bool,
                progress: Callable[[str, int], None] | None = None,
                cancelled: Callable[[], bool] = lambda: False) -> TypeResult:
    """Back up one object type into the session ``writer`` (see the module docstring)."""
    spec = objecttypes.get(object_type)  # ValueError naming the known types
    pager = Pager(object_type, progress, cancelled)
    if spec.read == objecttypes.DELTA:
        return backup_delta_type(client, writer, object_type, full, pager)
    return backup_listed_type(client, writer, object_type, pager)
