from django.core.management.base import CommandError

from approvals.errors import ApprovalError
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from tenants import lifecycle
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (TenantError, RepositoryError, ApprovalError)
    help = (
        "Remove a tenant: its registration, credential, jobs and session history. Its restore points are kept "
        "(--backups keep: left in each repository under the tenant's key) or erased (--backups erase --confirm "
        "NAME). Its log chunks stay in the log repositories. Without --yes (or --confirm) it only shows what the "
        "tenant holds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant name (or its id in entrabackup)")
        parser.add_argument("--backups", choices=lifecycle.BACKUP_CHOICES, default="",
                            help="what happens to its restore points (needed when it has some)")
        parser.add_argument("--confirm", metavar="NAME", default="", help="the tenant's name: confirms the removal "
                                                                          "(needed with --backups erase)")
        parser.add_argument("--yes", action="store_true", help="remove it")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks, when four-eyes approval is on (default: the local administrator)")

    def handle(self, *args, tenant, backups, confirm, yes, as_user, **options):
        found = tenant_named(tenant)
        holdings = lifecycle.tenant_holdings(found)
        for name, count in holdings.restore_points.items():
            self.stdout.write(f"{count} restore points in repository {name}")
        for name, (chunks, records) in holdings.log_chunks.items():
            self.stdout.write(f"{chunks} log chunks ({records} records) in log repository {name} (kept)")
        if not (yes or confirm):
            raise CommandError(f"Nothing removed: add --yes (or --confirm {found.name}) to remove tenant {found.name}.")
        if confirm and confirm != found.name:
            raise CommandError(f"--confirm must be the tenant's name, {found.name}.")
        done = lifecycle.tenant_remove(tenant=found, backups=backups, confirm=confirm,
                                       user=command_user(as_user, required=False))
        if not isinstance(done, lifecycle.TenantHoldings):
            self.stdout.write(f"Waiting for a second administrator's approval (request {done.pk}).")
            return
        kept = {"keep": f"kept under key {found.key}", "erase": "erased"}.get(backups, "none")
        self.stdout.write(f"Tenant '{found.name}' removed; restore points: {kept}.")
