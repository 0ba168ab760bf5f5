"""Compaction of closed days in log repositories (repositories/logstore/compaction.py), the index re-pointed
in the same step. Each log session compacts its repositories' last days after retention
(jobs/logrunner.py); `manage.py log_repository_compact` compacts every closed day of a repository.

A day is closed when it ended more than the job's overlap window plus MARGIN ago: no session's read reaches
it any more. A late chunk written to a compacted day anyway (a catch-up after an outage) is merged by a
later run. See docs/log-repositories.md, Compaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from jobs.logbackup.index import index_compacted
from jobs.logbackup.services import DEFAULT_OVERLAP_MINUTES
from jobs.logbackup.types import LOG_TYPES
from jobs.models import LogJob, LogSession
from repositories.log_services import log_repository_open
from repositories.logstore import LogRepository as LogStore
from repositories.logstore.compaction import CompactionReport, compact_chain
from repositories.models import LogRepository
from tenants.models import Tenant

logger = logging.getLogger(__name__)
MARGIN = timedelta(hours=1)
SESSION_DAYS = 7  # a session looks this many closed days back (the command looks at all)


def closed_before(now: datetime, overlap: timedelta) -> date:
    """The first day that is not closed: every day before it ended at least `overlap` + MARGIN before `now`."""
    return (now - overlap - MARGIN).date()


def compact_tenant(store: LogStore, *, repository: str, tenant_id: int, tenant_key: str, log_types: list[str],
                   closed_before: date, since: date | None, primary: bool) -> dict[str, CompactionReport]:
    """Compact the tenant's chains of these log types in one opened repository (`repository`: its name in
    the index), re-pointing the index; `primary` when the repository is indexed for the tenant."""
    reports = {}
    for key in log_types:
        log_type = LOG_TYPES[key]

        def repoint(manifest, records, log_type=log_type):
            index_compacted(tenant_id=tenant_id, log_type=log_type, repository=repository, manifest=manifest,
                            records=records, primary=primary)

        report = compact_chain(store, tenant_key, key, closed_before=closed_before, since=since, repoint=repoint)
        if report:
            reports[key] = report
    return reports


def log_repository_compact(*, repository: LogRepository, tenant: Tenant | None = None,
                           now: datetime | None = None) -> tuple[dict[str, CompactionReport], list[str]]:
    """Compact every closed day of the repository (or of one tenant in it), the day closed by the longest
    overlap window of the log jobs that write it. Tenants with a log session queued or running are skipped
    (their session compacts after it has stored). Returns ({"tenant/log_type": report}, skipped tenant keys)."""
    jobs = LogJob.objects.filter(Q(primary=repository) | Q(secondary=repository))
    overlap = max((job.overlap_minutes for job in jobs), default=DEFAULT_OVERLAP_MINUTES)
    closed = closed_before(now or timezone.now(), timedelta(minutes=overlap))
    busy = {str(key) for key in LogSession.objects.filter(status__in=LogSession.ACTIVE)
            .values_list("tenant__key", flat=True)}
    reports, skipped = {}, []
    with log_repository_open(repository) as store:
        for key in [str(tenant.key)] if tenant else store.tenants():
            if key in busy:
                skipped.append(key)
                continue
            row = _tenant(key)
            primary = row is not None and jobs.filter(tenant=row, primary=repository).exists()
            types = [t for t in store.log_types(key) if t in LOG_TYPES]
            found = compact_tenant(store, repository=str(repository.pk), tenant_id=row.pk if row else 0,
                                   tenant_key=key, log_types=types, closed_before=closed, since=None, primary=primary)
            reports.update({f"{key}/{log_type}": report for log_type, report in found.items()})
    return reports, skipped


def _tenant(key: str) -> Tenant | None:
    """The tenant whose key names a repository's tenant folder (None for a folder of no tenant here)."""
    try:
        return Tenant.objects.filter(key=uuid.UUID(key)).first()
    except ValueError:
        return None
