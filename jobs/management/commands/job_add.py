from entrabackup.management.base import ProductCommand
from jobs.errors import JobError, JobValidationError
from jobs.models import BackupJob
from jobs.selectors import proxy_named
from jobs.services import job_create
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from tenants.errors import TenantError
from tenants.selectors import tenant_named

# The option that sets each job setting, to name it in an error.
OPTION = {"name": "--name", "retention_days": "--retention-days", "retention_points": "--retention-points",
          "full_every_days": "--full-every-days", "retries": "--retries"}
SCHEDULE_OPTION = {"minutes": "--every-minutes", "hours": "--every-hours", "daily": "--daily", "cron": "--cron"}


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError)

    help = (
        "Create a backup job for a tenant. Schedules: --every-minutes N, --every-hours N, --daily HH:MM or "
        "--cron 'MIN HOUR DAY MONTH WEEKDAY' (none: manual only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--name", help="default: '<tenant> directory backup'")
        parser.add_argument("--repository", help="repository name (default: the local repository)")
        parser.add_argument("--types", nargs="+", default=[], help="object types (default: all)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--every-minutes", type=str)
        when.add_argument("--every-hours", type=str)
        when.add_argument("--daily", metavar="HH:MM")
        when.add_argument("--cron", metavar="EXPR")
        parser.add_argument("--retention-days", type=int)
        parser.add_argument("--retention-points", type=int)
        parser.add_argument("--full-every-days", type=int, default=7, help="full reconciliation read (0: never)")
        parser.add_argument("--proxy", help="pin to this proxy (see the Sessions page)")
        parser.add_argument("--retries", type=int, default=1)
        parser.add_argument("--disabled", action="store_true")

    def handle(self, *args, **opts):
        kind, value = _schedule(opts)
        try:
            job = job_create(
                tenant=tenant_named(opts["tenant"]), name=opts["name"],
                repository=repository_named(opts["repository"]) if opts["repository"] else None,
                object_types=opts["types"], schedule_kind=kind, schedule_value=value,
                retention_days=opts["retention_days"], retention_points=opts["retention_points"],
                full_every_days=opts["full_every_days"], proxy=proxy_named(opts["proxy"]) if opts["proxy"] else None,
                retries=opts["retries"], enabled=not opts["disabled"],
            )
        except JobValidationError as exc:
            option = SCHEDULE_OPTION.get(kind) if exc.field == "schedule_value" else OPTION.get(exc.field)
            raise JobError(f"{option}: {exc}" if option else str(exc)) from None
        next_run = f"{job.next_run_at:%Y-%m-%d %H:%M %Z}" if job.next_run_at else "only when started by hand"
        self.stdout.write(f"Job '{job.name}' created (id {job.pk}); next run: {next_run}.")


def _schedule(opts) -> tuple[str, str]:
    for option, kind in (("every_minutes", "minutes"), ("every_hours", "hours"), ("daily", "daily"), ("cron", "cron")):
        if opts[option] is not None:
            return kind, opts[option]
    return BackupJob.ScheduleKind.MANUAL, ""

