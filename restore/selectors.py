"""Reads of restore points and backed-up objects, from the tenants' repositories.

A restore point is named by its repository and its id (`PointSpec`): ids are numbered per repository, so an
id alone could mean a different point in each of a tenant's repositories. The read path of one request goes
through one `TenantBackups`, which opens each repository's store once and closes them together.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from entrabackup import objecttypes
from repositories.errors import RepositoryError
from repositories.models import Repository
from repositories.services import repository_error, repository_store
from repositories.store.errors import StoreError
from restore.errors import RestorePointNotFoundError
from tenants.selectors import tenants_visible_to

# Relationship kinds as navigation properties of their source objects (export and object pages).
NAVIGATION = {kind: (source.name, relation.navigation) for kind, (source, relation) in objecttypes.RELATIONS.items()}


@dataclass(frozen=True)
class PointSpec:
    """Which restore point: `point_id` None means the newest; `repository_id` None means any repository of
    the tenant (then an id must be unambiguous)."""

    repository_id: int | None = None
    point_id: int | None = None

    def __str__(self) -> str:
        if self.point_id is None:
            return "latest"
        return f"{self.repository_id}:{self.point_id}" if self.repository_id else str(self.point_id)


LATEST = PointSpec()


@dataclass(frozen=True)
class PointRef:
    repository: Repository
    restore_point: object  # repositories.store RestorePoint

    @property
    def spec(self) -> str:
        """How URLs name this restore point: `<repository pk>:<restore point id>`."""
        return f"{self.repository.pk}:{self.restore_point.id}"


def tenant_repositories(tenant) -> list[Repository]:
    """The repositories the tenant's jobs write to."""
    return list(Repository.objects.filter(backup_jobs__tenant=tenant).distinct().order_by("name"))


class TenantBackups:
    """A tenant's backups for one request or command: each repository's store is opened once, on first use."""

    def __init__(self, tenant, stack: ExitStack):
        self.tenant, self.key, self._stack = tenant, str(tenant.key), stack
        self._stores: dict[int, object] = {}
        self._points: list[PointRef] | None = None

    def store(self, repository: Repository):
        if repository.pk not in self._stores:
            self._stores[repository.pk] = self._stack.enter_context(repository_store(repository))
        return self._stores[repository.pk]

    @contextmanager
    def reading(self, repository: Repository) -> Iterator:
        """The repository's store; its errors leave as the product's, naming that repository."""
        try:
            yield self.store(repository)
        except StoreError as exc:
            raise repository_error(repository, exc) from exc

    def restore_points(self) -> list[PointRef]:
        """Every committed restore point of the tenant, newest first, across its repositories."""
        if self._points is None:
            refs = []
            for repository in tenant_repositories(self.tenant):
                with self.reading(repository) as store:
                    refs += [PointRef(repository, rp) for rp in store.restore_points(self.key)]
            self._points = sorted(refs, key=lambda ref: ref.restore_point.committed_at, reverse=True)
        return self._points

    def find(self, spec: PointSpec) -> PointRef:
        """The restore point `spec` names, or RestorePointNotFoundError saying why there is none."""
        refs = [ref for ref in self.restore_points() if spec.repository_id in (None, ref.repository.pk)]
        if spec.point_id is None:
            if not refs:
                raise RestorePointNotFoundError(f"Tenant {self.tenant.name} has no restore point yet.")
            return refs[0]
        found = [ref for ref in refs if ref.restore_point.id == spec.point_id]
        if len(found) > 1:
            names = ", ".join(ref.repository.name for ref in found)
            raise RestorePointNotFoundError(f"Restore point {spec.point_id} exists in several repositories "
                                            f"({names}); name the repository too.")
        if not found:
            raise RestorePointNotFoundError(f"Tenant {self.tenant.name} has no restore point {spec}.")
        return found[0]

    def explore(self, ref: PointRef, *, object_type=None, search=None, include_deleted=False, page=1, per_page=50):
        """One page of the tenant's objects as of a restore point, the total count, and the count per type."""
        rp = ref.restore_point.id
        with self.reading(ref.repository) as store:
            rows = store.objects(self.key, rp, object_type=object_type or None, search=search or None,
                                 include_deleted=include_deleted, limit=per_page, offset=(page - 1) * per_page)
            total = store.count_objects(self.key, rp, object_type=object_type or None, search=search or None)
            return rows, total, store.type_counts(self.key, rp)

    def object_view(self, ref: PointRef, object_type: str, object_id: str) -> dict:
        """An object as of a restore point, its relationships then, and its whole history."""
        rp = ref.restore_point.id
        with self.reading(ref.repository) as store:
            return {"row": store.get_object(self.key, rp, object_type, object_id),
                    "outgoing": store.relations(self.key, rp, source_id=object_id),
                    "incoming": store.relations(self.key, rp, target_id=object_id),
                    "history": store.object_history(self.key, object_type, object_id)}


@contextmanager
def tenant_backups(tenant) -> Iterator[TenantBackups]:
    """A TenantBackups whose stores close on exit; their failures leave as repositories.errors."""
    with ExitStack() as stack:
        yield TenantBackups(tenant, stack)


def tenant_with_points(user) -> list[tuple]:
    """(tenant, newest restore point ref or None, number of restore points, error or "") for the Restore page;
    a repository that cannot be read is named in its tenant's row, the other tenants are still listed."""
    rows = []
    for tenant in tenants_visible_to(user):
        try:
            with tenant_backups(tenant) as backups:
                refs = backups.restore_points()
        except RepositoryError as exc:
            rows.append((tenant, None, 0, str(exc)))
            continue
        rows.append((tenant, refs[0] if refs else None, len(refs), ""))
    return rows


def log_tenants(user):
    """The tenants whose backed-up logs the user may search (the log explorer's index page)."""
    return tenants_visible_to(user).order_by("name")
