from entrabackup.management.base import ProductCommand
from jobs.errors import JobError, JobValidationError
from jobs.logbackup.services import DEFAULT_OVERLAP_MINUTES, log_job_create
from jobs.logbackup.types import ALIASES, LOG_TYPES
from repositories.errors import RepositoryError
from repositories.selectors import log_repository_named
from tenants.errors import TenantError
from tenants.selectors import tenant_named

OPTION = {"every_minutes": "--every-minutes", "overlap_minutes": "--overlap-minutes", "types": "--types",
          "secondary": "--secondary"}


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError)
    help = ("Create a log job: back up a tenant's audit and sign-in logs into a primary (and an optional secondary) "
            f"log repository. Types: {', '.join([*LOG_TYPES, *ALIASES])}.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--primary", required=True, help="log repository name")
        parser.add_argument("--secondary", help="second log repository name")
        parser.add_argument("--every-minutes", type=int, default=15)
        parser.add_argument("--overlap-minutes", type=int, default=DEFAULT_OVERLAP_MINUTES,
                            help="re-read this far behind the watermark for late records")
        parser.add_argument("--types", default="all", help="comma-separated log types (default: all)")

    def handle(self, *args, tenant, primary, secondary, every_minutes, overlap_minutes, types, **options):
        tenant = tenant_named(tenant)
        try:
            job = log_job_create(
                tenant=tenant, primary=log_repository_named(primary),
                secondary=log_repository_named(secondary) if secondary else None,
                log_types=types.split(","), every_minutes=every_minutes, overlap_minutes=overlap_minutes)
        except JobValidationError as exc:
            raise JobError(f"{OPTION.get(exc.field, exc.field)}: {exc}") from None
        self.stdout.write(f"Log job {job.pk} created for {tenant.name}: {', '.join(job.log_types)} every "
                          f"{job.every_minutes} min into {job.primary.name}"
                          + (f" and {job.secondary.name}" if job.secondary else "") + ".")
