from django.core.management.base import CommandError

from approvals.errors import ApprovalError
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from repositories import lifecycle
from repositories.errors import RepositoryError
from repositories.selectors import log_repository_named, repository_named


class Command(ProductCommand):
    domain_errors = (RepositoryError, ApprovalError)
    help = (
        "Remove a repository (--log: a log repository). Refused while jobs write to it. One that holds data is "
        "detached (--data detach: its data stays where it is) or erased (--data erase --confirm NAME: every "
        "restore point or chunk is deleted first). Without --yes (or --confirm) it only shows what it holds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--log", action="store_true", help="the name is a log repository's")
        parser.add_argument("--data", choices=lifecycle.DATA_CHOICES, default="",
                            help="what happens to its data (needed when it holds some)")
        parser.add_argument("--confirm", metavar="NAME", default="", help="the repository's name (needed to erase)")
        parser.add_argument("--yes", action="store_true", help="remove it")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks, when four-eyes approval is on (default: the local administrator)")

    def handle(self, *args, name, log, data, confirm, yes, as_user, **options):
        repository = log_repository_named(name) if log else repository_named(name)
        holdings = (lifecycle.log_repository_holdings if log else lifecycle.repository_holdings)(repository)
        for tenant, count in holdings.data.items():
            self.stdout.write(f"{count} {holdings.unit} of {tenant}")
        if holdings.jobs:
            self.stdout.write(f"Used by: {', '.join(holdings.jobs)}")
        if not (yes or confirm):
            raise CommandError(f"Nothing removed: add --yes (or --confirm {repository.name}) to remove it.")
        if confirm and confirm != repository.name:
            raise CommandError(f"--confirm must be the repository's name, {repository.name}.")
        remove = lifecycle.log_repository_remove if log else lifecycle.repository_remove
        done = remove(repository=repository, data=data, confirm=confirm, user=command_user(as_user, required=False))
        if not isinstance(done, lifecycle.RepositoryHoldings):
            self.stdout.write(f"Waiting for a second administrator's approval (request {done.pk}).")
            return
        self.stdout.write(f"Repository '{repository.name}' removed ({data or 'it held no data'}).")
