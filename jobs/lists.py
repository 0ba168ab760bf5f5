"""The Jobs and Logs pages' lists of jobs: filters and pages (entrabackup/paging.py), scoped by tenant."""

from entrabackup import paging
from jobs import selectors
from jobs.schedules import describe
from tenants.selectors import tenants_visible_to


class JobFilter(paging.ListFilter):
    q = paging.name_contains("Job name contains")
    state = paging.enabled_choice()

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"] = paging.tenant_choice(tenants)
        self.order_fields(["q", "tenant", "state"])


class LogJobFilter(paging.ListFilter):
    state = paging.enabled_choice()

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"] = paging.tenant_choice(tenants)
        self.order_fields(["tenant", "state"])


def _narrowed(rows, filters: dict):
    if filters.get("tenant"):
        rows = rows.filter(tenant=filters["tenant"])
    if filters.get("state"):
        rows = rows.filter(enabled=filters["state"] == "yes")
    return rows


def job_page(request, perm: str = "jobs.view_backupjob"):
    """(query, page): one page of the backup jobs of the tenants the user holds `perm` on, by name; rows are
    (job, schedule in words)."""
    query = paging.read_query(request, JobFilter, tenants=tenants_visible_to(request.user, perm))
    jobs = _narrowed(selectors.jobs_visible_to(request.user, perm), query.filters)
    if query.filters.get("q"):
        jobs = jobs.filter(name__icontains=query.filters["q"])
    page = paging.offset_page(jobs.order_by("name", "pk"), query.filters.get("page"), request.GET)
    page.rows = [(job, describe(job.schedule_kind, job.schedule_value)) for job in page.rows]
    return query, page


def log_job_page(request, perm: str = "jobs.view_logsession"):
    """(query, page): one page of the log jobs of the tenants the user holds `perm` on, by tenant name."""
    query = paging.read_query(request, LogJobFilter, tenants=tenants_visible_to(request.user, perm))
    jobs = _narrowed(selectors.log_jobs_visible_to(request.user, perm), query.filters)
    return query, paging.offset_page(jobs.order_by("tenant__name", "pk"), query.filters.get("page"), request.GET)
