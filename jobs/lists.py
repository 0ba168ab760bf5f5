"""The Jobs and Logs pages' lists of jobs: filters and pages (entrabackup/paging.py), scoped by tenant."""

from accounts.access import scope
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


def _filter_tenants(user, perm: str):
    """The tenant filter's choices: tenants where the user holds the list's permission and may see tenants
    (a user given only a job permission is not shown every tenant's name in the filter)."""
    return scope(tenants_visible_to(user, perm), user, "tenants.view_tenant")


def _narrowed(rows, filters: dict):
    if filters.get("tenant"):
        rows = rows.filter(tenant=filters["tenant"])
    if filters.get("state"):
        rows = rows.filter(enabled=filters["state"] == "yes")
    return rows


def job_page(request, perm: str = "jobs.view_backupjob"):
    """(query, page): one page of the backup jobs of the tenants the user holds `perm` on, by name; rows are
    (job, schedule in words)."""
    query = paging.read_query(request, JobFilter, tenants=_filter_tenants(request.user, perm))
    jobs = _narrowed(selectors.jobs_visible_to(request.user, perm), query.filters)
    if query.filters.get("q"):
        jobs = jobs.filter(name__icontains=query.filters["q"])
    page = paging.offset_page(jobs.order_by("name", "pk"), query.filters.get("page"), query.params)
    for job in page.rows:
        job.links = {"run": paging.url_of("jobs:job_run", job.pk), "edit": paging.url_of("jobs:job_edit", job.pk),
                     "remove": paging.url_of("jobs:job_remove", job.pk)}
    page.rows = [(job, describe(job.schedule_kind, job.schedule_value)) for job in page.rows]
    return query, page


def log_job_page(request, perm: str = "jobs.view_logsession"):
    """(query, page): one page of the log jobs of the tenants the user holds `perm` on, by tenant name."""
    query = paging.read_query(request, LogJobFilter, tenants=_filter_tenants(request.user, perm))
    jobs = _narrowed(selectors.log_jobs_visible_to(request.user, perm), query.filters)
    page = paging.offset_page(jobs.order_by("tenant__name", "pk"), query.filters.get("page"), query.params)
    for job in page.rows:
        job.links = {"edit": paging.url_of("jobs:log_job_edit", job.pk),
                     "remove": paging.url_of("jobs:log_job_remove", job.pk)}
    return query, page


def may(user, *perms: str) -> dict:
    """Which of the row actions' permissions the user holds, asked once for the page (keys: codename)."""
    return {perm.split(".")[1]: user.has_perm(perm) for perm in perms}
