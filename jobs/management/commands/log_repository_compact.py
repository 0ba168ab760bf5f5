from entrabackup.management.base import ProductCommand
from jobs.errors import JobError
from jobs.logbackup.compaction import log_repository_compact
from repositories.errors import RepositoryError
from repositories.selectors import log_repository_named
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError)
    help = ("Compact a log repository: every closed day's small chunks of each tenant and log type are merged "
            "into one chunk (the chain and the index follow), and compactions a crash interrupted are finished. "
            "Log sessions do this for their last days by themselves; tenants with a session running are skipped.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--tenant", default=None, help="compact only this tenant's chunks")

    def handle(self, *args, name, tenant, **options):
        repository = log_repository_named(name)
        reports, skipped = log_repository_compact(repository=repository,
                                                  tenant=tenant_named(tenant) if tenant else None)
        for chain, report in sorted(reports.items()):
            self.stdout.write(f"{chain}: {report.summary()}")
        for key in skipped:
            self.stdout.write(f"{key}: skipped, a log session of this tenant is queued or running")
        merged = sum(r.merged for r in reports.values())
        self.stdout.write(f"Log repository {repository.name}: {merged} chunks compacted in {len(reports)} chains.")
