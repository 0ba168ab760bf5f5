from django.core.management.base import CommandError

from approvals.actions import tenant_restore_points_delete
from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (RepositoryError, TenantError, ApprovalError)

    help = (
        "Remove every restore point and object version of a tenant from one repository. This cannot be "
        "undone; it asks for --yes. The tenant's registration and jobs are kept. With four-eyes approval on for "
        "deleting restore points, it waits for a second administrator."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repository", required=True)
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--yes", action="store_true", help="really remove the backups")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks for it (default: the local administrator); see docs/approvals.md")

    def handle(self, *args, repository, tenant, yes, as_user, **options):
        found = repository_named(repository)
        tenant = tenant_named(tenant)
        if not yes:
            raise CommandError(f"This removes every backup of {tenant.name} from {found.name}; add --yes to do it.")
        counts = tenant_restore_points_delete(repository=found, tenant=tenant,
                                              user=command_user(as_user, required=False))
        if isinstance(counts, ApprovalRequest):
            self.stdout.write(f"Deleting these restore points waits for a second administrator: approval request "
                              f"{counts.pk} (manage.py approval_approve --id {counts.pk} --as ANOTHER_ADMIN).")
            return
        self.stdout.write(f"Removed from {found.name}: {counts}")
