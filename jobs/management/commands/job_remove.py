from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from jobs import lifecycle
from jobs.errors import JobError
from jobs.management.commands.job_update import job_by_name


class Command(ProductCommand):
    domain_errors = (JobError,)
    help = ("Remove a backup job and its session history. The restore points it made are kept (they belong to "
            "the tenant in the repository). Needs --yes; refused while one of its sessions is queued or running.")

    def add_arguments(self, parser):
        parser.add_argument("--job", required=True, help="job name (or id)")
        parser.add_argument("--yes", action="store_true", help="remove it")

    def handle(self, *args, job, yes, **options):
        found = job_by_name(job)
        holdings = lifecycle.job_holdings(found)
        if not yes:
            raise CommandError(f"Nothing removed: job {found.name} has {holdings.sessions} sessions in its history; "
                               f"its restore points in {holdings.repository} would be kept. Add --yes to remove it.")
        lifecycle.job_remove(job=found)
        self.stdout.write(f"Job '{found.name}' removed; the restore points in {holdings.repository} are kept.")
