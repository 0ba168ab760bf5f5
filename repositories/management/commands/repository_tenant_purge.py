from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from repositories.services import repository_tenant_purge
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (RepositoryError, TenantError)

    help = (
        "Remove every restore point and object version of a tenant from one repository. This cannot be "
        "undone; it asks for --yes. The tenant's registration and jobs are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repository", required=True)
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--yes", action="store_true", help="really remove the backups")

    def handle(self, *args, repository, tenant, yes, **options):
        found = repository_named(repository)
        tenant = tenant_named(tenant)
        if not yes:
            raise CommandError(f"This removes every backup of {tenant.name} from {found.name}; add --yes to do it.")
        counts = repository_tenant_purge(repository=found, tenant=tenant)
        self.stdout.write(f"Removed from {found.name}: {counts}")
