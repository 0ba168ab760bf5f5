"""Reads of restore points and backed-up objects, from the tenants' repositories.

A restore point is named by its repository and its id (`PointSpec`): ids are numbered per repository, so an
id alone could mean a different point in each of a tenant's repositories. The read path of one request goes
through one `TenantBackups`, which opens each repository's store once and closes them together.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from entrabackup import objecttypes
from jobs.selectors import log_records_search
from repositories.models import Repository
from repositories.services import repository_error, repository_store
from repositories.store.errors import StoreError
from restore.compare import Ref
from restore.errors import RestorePointNotFoundError
from restore.history import object_timeline

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
PRODUCTION = "production"  # the live tenant, as the other side of a comparison


@dataclass(frozen=True)
class PointRef:
    repository: Repository
    restore_point: object  # repositories.store RestorePoint

    @property
    def spec(self) -> str:
        """How URLs name this restore point: `<repository pk>:<restore point id>`."""
        return f"{self.repository.pk}:{self.restore_point.id}"


@dataclass(frozen=True)
class _PointId:
    """A restore point known by its id alone (the one before a listed point: its link needs no more)."""

    id: int


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

    def restore_point_page(self, *, per_page: int, after: tuple | None = None, kind: str | None = None,
                           start=None, end=None, cap: int = 10_000,
                           ) -> tuple[list[tuple[PointRef, PointRef | None]], tuple | None, int]:
        """One page of the tenant's committed restore points across its repositories, newest first, as
        (ref, the ref before it in the same repository or None); the keyset cursor of the next page
        ((committed_at, repository pk, id) of the last row, None on the last page); how many match, counted
        up to `cap` + 1 in each repository (more than `cap` is "more than cap").

        Each repository returns at most a page plus one, older than the cursor by (committed_at, repository
        pk descending, id): the rows are merged and a page kept, so any page costs what the first costs."""
        found = []
        total = 0
        for repository in tenant_repositories(self.tenant):
            before = None
            if after is not None:
                when, repository_pk, pk = after
                # Rows at the cursor's moment sort by repository pk (descending), then id.
                bound = pk if repository.pk == repository_pk else (2**63 - 1 if repository.pk < repository_pk else 0)
                before = (when, bound)
            with self.reading(repository) as store:
                rows = store.restore_point_page(self.key, limit=per_page + 1, kind=kind, start=start, end=end,
                                                before=before)
                total += store.count_restore_points(self.key, kind=kind, start=start, end=end, cap=cap)
            for point, previous_id in rows:
                previous = PointRef(repository, _PointId(previous_id)) if previous_id is not None else None
                found.append((PointRef(repository, point), previous))
        found.sort(key=lambda pair: (pair[0].restore_point.committed_at, pair[0].repository.pk,
                                     pair[0].restore_point.id), reverse=True)
        page = found[:per_page]
        cursor = None
        if len(found) > per_page:
            last = page[-1][0]
            cursor = (last.restore_point.committed_at, last.repository.pk, last.restore_point.id)
        return page, cursor, total

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

    def previous(self, ref: PointRef) -> PointRef | None:
        """The restore point before `ref` in the same repository."""
        older = [r for r in self.restore_points()
                 if r.repository.pk == ref.repository.pk and r.restore_point.id < ref.restore_point.id]
        return max(older, key=lambda r: r.restore_point.id, default=None)

    def with_previous(self) -> list[tuple[PointRef, PointRef | None]]:
        return [(ref, self.previous(ref)) for ref in self.restore_points()]

    def explore(self, ref: PointRef, *, object_type=None, search=None, include_deleted=False, page=1, per_page=50):
        """One page of the tenant's objects as of a restore point, the total count, and the count per type.
        `include_deleted`: False (present objects), True (with the deleted ones) or "only" (deleted alone)."""
        rp = ref.restore_point.id
        with self.reading(ref.repository) as store:
            rows = store.objects(self.key, rp, object_type=object_type or None, search=search or None,
                                 include_deleted=include_deleted, limit=per_page, offset=(page - 1) * per_page)
            total = store.count_objects(self.key, rp, object_type=object_type or None, search=search or None,
                                        include_deleted=include_deleted)
            return rows, total, store.type_counts(self.key, rp)

    def object_view(self, ref: PointRef, object_type: str, object_id: str) -> dict:
        """An object as of a restore point, its relationships then (by name), and its history across the
        repository's restore points, each change with the audit records that explain it."""
        rp = ref.restore_point.id
        with self.reading(ref.repository) as store:
            outgoing = store.relations(self.key, rp, source_id=object_id)
            incoming = store.relations(self.key, rp, target_id=object_id)
            points = [r.restore_point for r in self.restore_points() if r.repository.pk == ref.repository.pk]
            timeline = object_timeline(store, self.key, object_type, object_id, points)
            names = store.names(self.key, [r.target_id for r in outgoing] + [r.source_id for r in incoming], rp)
            return {"row": store.get_object(self.key, rp, object_type, object_id),
                    "outgoing": [(r, _named(names, r.target_id, r.target_type)) for r in outgoing],
                    "incoming": [(r, _named(names, r.source_id, None)) for r in incoming],
                    "history": store.object_history(self.key, object_type, object_id),
                    "timeline": _explained(self.tenant, timeline, object_id)}


def _named(names: dict, object_id: str, object_type: str | None) -> Ref:
    if object_id in names:
        otype, name, upn, app_id, state = names[object_id]
        return Ref(otype, object_id, name or upn or app_id, state)
    return Ref(object_type, object_id, None, "unknown")


AUDIT_PER_CHANGE = 10


def _explained(tenant, timeline: list, object_id: str) -> list:
    """Each entry with the directory audit records that name the object as a target between the restore
    point before it was read and the end of its own read (the log backup's index; none if it has none)."""
    for entry in timeline[:50]:
        if entry.previous is None or entry.restore_point.committed_at is None:
            continue
        found = log_records_search(tenant, start=entry.previous.started_at, end=entry.restore_point.committed_at,
                                   target=object_id, per_page=AUDIT_PER_CHANGE)
        entry.audit = [row for row in found["rows"] if row["log_type"] == "audit"]
    return timeline


@contextmanager
def tenant_backups(tenant) -> Iterator[TenantBackups]:
    """A TenantBackups whose stores close on exit; their failures leave as repositories.errors."""
    with ExitStack() as stack:
        yield TenantBackups(tenant, stack)
