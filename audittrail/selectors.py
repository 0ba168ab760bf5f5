"""Reads of the audit trail: the filtered, paged list and the rows of an export."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from audittrail.models import Entry
from tenants.models import Tenant

PAGE_SIZE = 50


@dataclass(frozen=True)
class EntryFilter:
    """What the page and the exports filter on; empty values do not filter."""

    start: datetime | None = None
    stop: datetime | None = None
    username: str = ""
    action: str = ""
    tenant_id: int | None = None
    result: str = ""


def entries_matching(filters: EntryFilter) -> QuerySet[Entry]:
    """Entries matching `filters`, newest first.

    Every filter is served by an index on (field, id). A time range becomes a range of ids too (ids and
    times rise together, see chain.append), so the newest-first scan starts and stops at the right place
    even when nothing else narrows it. An action ending in "." or "*" matches every action it starts.
    """
    entries = Entry.objects.order_by("-id")
    if filters.start is not None:
        first = Entry.objects.filter(at__gte=filters.start).order_by("at").values_list("id", flat=True).first()
        entries = entries.filter(id__gte=first or _beyond(), at__gte=filters.start)
    if filters.stop is not None:
        last = Entry.objects.filter(at__lt=filters.stop).order_by("-at").values_list("id", flat=True).first()
        entries = entries.filter(id__lte=last or 0, at__lt=filters.stop)
    if filters.action:
        prefix = filters.action.endswith(("*", "."))
        action = filters.action.rstrip("*")
        entries = entries.filter(action__startswith=action) if prefix else entries.filter(action=action)
    for name in ("username", "tenant_id", "result"):
        if getattr(filters, name) not in ("", None):
            entries = entries.filter(**{name: getattr(filters, name)})
    return entries


def _beyond() -> int:
    """An id past every entry: a start after the newest entry matches nothing."""
    return (Entry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1


def entries_page(filters: EntryFilter, *, before: int | None = None, size: int = PAGE_SIZE) -> tuple[list, int | None]:
    """One page of `entries_matching`, older than entry `before`; and the `before` of the next page (or None).

    Paging by id (a keyset) costs the same on the last page as on the first, with any number of entries.
    """
    entries = entries_matching(filters)
    if before is not None:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: size + 1])
    return rows[:size], (rows[size - 1].id if len(rows) > size else None)


def tenants_seen() -> list[tuple[int, str]]:
    """(id, name) of the tenants the trail can be filtered by: the registered ones."""
    return list(Tenant.objects.order_by("name").values_list("id", "name"))
