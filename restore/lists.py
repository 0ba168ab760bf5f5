"""The Restore pages' lists: tenants (Restore, Logs) and a tenant's restore points, filtered and paged on the
server (entrabackup/paging.py). Restore points page by keyset: a tenant can have hundreds of thousands."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from entrabackup import paging
from jobs.models import BackupJob
from repositories.errors import RepositoryError
from repositories.models import Repository
from repositories.services import repository_store
from restore.selectors import PointRef, tenant_backups
from tenants.lists import TenantFilter, filtered
from tenants.selectors import tenants_visible_to

POINTS_PER_PAGE = 50
COUNT_CAP = 10_000  # counts stop here: "more than 10,000" (an exact count of 200,000 costs 50 ms a page)


class RestorePointFilter(paging.KeysetFilter):
    kind = forms.ChoiceField(required=False, label="Kind", choices=[("", "Any"), ("full", "Full"), ("incremental", "Incremental")],
                             error_messages={"invalid_choice": "Kind: choose full or incremental (got %(value)s)."})
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="From",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": "From: give a date as YYYY-MM-DD."})
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="To",
                          widget=forms.DateInput(attrs={"type": "date"}),
                          error_messages={"invalid": "To: give a date as YYYY-MM-DD."})

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The date range ends before it starts.")
        return data


def _midnight(day, plus: int = 0):
    return None if day is None else timezone.make_aware(datetime.combine(day + timedelta(days=plus), time.min))


def restore_point_page(request, tenant) -> tuple[paging.ListQuery, paging.KeysetPage]:
    """(query, page) of the tenant's committed restore points, newest first; rows are PointRow."""
    query = paging.read_query(request, RestorePointFilter)
    filters = query.filters
    with tenant_backups(tenant) as backups:
        rows, cursor, total = backups.restore_point_page(
            per_page=POINTS_PER_PAGE, after=filters.get("after"), kind=filters.get("kind"),
            start=_midnight(filters.get("start")), end=_midnight(filters.get("end"), plus=1), cap=COUNT_CAP)
    rows = [_row(ref, previous) for ref, previous in rows]
    next_cursor = paging.Cursor.text(*cursor) if cursor else None
    return query, paging.KeysetPage(rows, next_cursor, filters.get("after") is None, min(total, COUNT_CAP),
                                    POINTS_PER_PAGE, query.params, exact=total <= COUNT_CAP)


@dataclass(frozen=True)
class PointRow:
    """A row of the restore points list, its text made once (fifty rows rendered without a filter call)."""

    id: int
    committed: str
    kind: str
    repository: str
    spec: str
    previous_id: int | None
    previous_spec: str | None


def _row(ref, previous) -> PointRow:
    point = ref.restore_point
    return PointRow(point.id, timezone.localtime(point.committed_at).strftime("%Y-%m-%d %H:%M:%S"),
                    point.kind.capitalize(), ref.repository.name, ref.spec, previous.restore_point.id if previous else None,
                    previous.spec if previous else None)


class TenantNameFilter(paging.ListFilter):
    q = TenantFilter.base_fields["q"]


def tenant_page(request, perm: str):
    """(query, page) of the tenants the user holds `perm` on, by name, filtered by name or tenant ID."""
    query = paging.read_query(request, TenantNameFilter)
    tenants = filtered(tenants_visible_to(request.user, perm), query.filters).order_by("name", "pk")
    return query, paging.offset_page(tenants, query.filters.get("page"), query.params)


def with_points(page: paging.Page) -> paging.Page:
    """The Restore page's rows: (tenant, newest restore point or None, number of restore points (words past
    COUNT_CAP), error or ""),
    read for this page's tenants only, one query per repository; a repository that cannot be read is named in
    its tenants' rows, the other tenants are still listed."""
    pairs = BackupJob.objects.filter(tenant__in=page.rows).values_list("tenant_id", "repository_id").distinct()
    repositories = Repository.objects.in_bulk({repository_pk for _, repository_pk in pairs})
    keys = {tenant.pk: str(tenant.key) for tenant in page.rows}
    found, errors = {}, {}
    for repository in sorted(repositories.values(), key=lambda r: r.name):
        wanted = [keys[tenant_pk] for tenant_pk, repository_pk in pairs if repository_pk == repository.pk]
        try:
            with repository_store(repository) as store:
                summary = store.restore_point_summary(wanted, COUNT_CAP)
        except RepositoryError as exc:
            for key in wanted:
                errors.setdefault(key, []).append(str(exc))
            continue
        for key, (count, newest) in summary.items():
            total, best = found.get(key, (0, None))
            if newest is not None and (best is None or newest.committed_at > best.restore_point.committed_at):
                best = PointRef(repository, newest)
            found[key] = (total + count, best)
    rows = []
    for tenant in page.rows:
        count, newest = found.get(keys[tenant.pk], (0, None))
        shown = f"more than {COUNT_CAP:,}" if count > COUNT_CAP else str(count)
        tenant.points_url = paging.url_of("restore:restore_point_list", tenant.pk)
        tenant.explore_url = paging.url_of("restore:object_explorer", tenant.pk)
        rows.append((tenant, newest, shown if count else 0, "; ".join(errors.get(keys[tenant.pk], []))))
    page.rows = rows
    return page
