"""Reads of restore points and backed-up objects, from the tenants' repositories."""

from dataclasses import dataclass

from entrabackup import objecttypes
from repositories.models import Repository
from repositories.services import repository_store
from restore.errors import RestorePointNotFoundError

# Relationship kinds as navigation properties of their source objects (export and object pages).
NAVIGATION = {kind: (source.name, relation.navigation) for kind, (source, relation) in objecttypes.RELATIONS.items()}


@dataclass(frozen=True)
class PointRef:
    repository: Repository
    restore_point: object  # repositories.store RestorePoint


def tenant_repositories(tenant) -> list[Repository]:
    """The repositories the tenant's jobs write to."""
    return list(Repository.objects.filter(backup_jobs__tenant=tenant).distinct().order_by("name"))


def restore_points(tenant) -> list[PointRef]:
    """Every committed restore point of the tenant, newest first, across its repositories."""
    refs = []
    for repository in tenant_repositories(tenant):
        with repository_store(repository) as store:
            refs += [PointRef(repository, rp) for rp in store.restore_points(str(tenant.key))]
    return sorted(refs, key=lambda ref: ref.restore_point.committed_at, reverse=True)


def restore_point_find(tenant, restore_point: str) -> PointRef:
    """A restore point by id, or the newest one for 'latest'."""
    refs = restore_points(tenant)
    if restore_point == "latest":
        if not refs:
            raise RestorePointNotFoundError(f"Tenant {tenant.name} has no restore point yet.")
        return refs[0]
    for ref in refs:
        if str(ref.restore_point.id) == str(restore_point):
            return ref
    raise RestorePointNotFoundError(f"Tenant {tenant.name} has no restore point {restore_point}.")


def tenant_with_points(user) -> list[tuple]:
    """(tenant, newest restore point ref or None, number of restore points) for the Restore page."""
    from tenants.selectors import tenants_visible_to

    rows = []
    for tenant in tenants_visible_to(user):
        refs = restore_points(tenant)
        rows.append((tenant, refs[0] if refs else None, len(refs)))
    return rows


def explore(tenant, ref: PointRef, *, object_type=None, search=None, include_deleted=False, page=1, per_page=50):
    """One page of the tenant's objects as of a restore point, with the total count."""
    key, rp = str(tenant.key), ref.restore_point.id
    with repository_store(ref.repository) as store:
        rows = store.objects(key, rp, object_type=object_type or None, search=search or None,
                             include_deleted=include_deleted, limit=per_page, offset=(page - 1) * per_page)
        total = store.count_objects(key, rp, object_type=object_type or None, search=search or None)
        types = store.type_counts(key, rp)
    return rows, total, types


def object_view(tenant, ref: PointRef, object_type: str, object_id: str) -> dict:
    """An object as of a restore point, its relationships then, and its whole history."""
    key, rp = str(tenant.key), ref.restore_point.id
    with repository_store(ref.repository) as store:
        row = store.get_object(key, rp, object_type, object_id)
        outgoing = store.relations(key, rp, source_id=object_id)
        incoming = store.relations(key, rp, target_id=object_id)
        history = store.object_history(key, object_type, object_id)
    return {"row": row, "outgoing": outgoing, "incoming": incoming, "history": history}
