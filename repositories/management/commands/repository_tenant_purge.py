from django.core.management.base import BaseCommand, CommandError

from jobs.management.commands._common import tenant_named
from repositories.models import Repository
from repositories.services import repository_tenant_purge


class Command(BaseCommand):
    help = (
        "Remove every restore point and object version of a tenant from one repository. This cannot be "
        "undone; it asks for --yes. The tenant's registration and jobs are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repository", required=True)
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--yes", action="store_true", help="really remove the backups")

    def handle(self, *args, repository, tenant, yes, **options):
        found = Repository.objects.filter(name__iexact=repository).first()
        if found is None:
            raise CommandError(f"No repository named {repository!r}.")
        tenant = tenant_named(tenant)
        if not yes:
            raise CommandError(f"This removes every backup of {tenant.name} from {found.name}; add --yes to do it.")
        counts = repository_tenant_purge(repository=found, tenant=tenant)
        self.stdout.write(f"Removed from {found.name}: {counts}")
