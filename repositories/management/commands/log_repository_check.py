from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.selectors import log_repository_named
from repositories.services import log_repository_check


class Command(ProductCommand):
    domain_errors = (RepositoryError,)
    help = ("Health check of a log repository: re-read every manifest and chunk, verify the sha-256 hashes, "
            "the manifest chain and decryption. Prints what is damaged, missing, replaced or deleted and exits "
            "non-zero when anything is.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--tenant", default=None, help="check only this tenant's chunks")

    def handle(self, *args, name, tenant, **options):
        repository = log_repository_named(name)
        report = log_repository_check(repository=repository, tenant=tenant)
        for kind, problem in report.problems():
            self.stdout.write(f"{kind.upper()}\t{problem.path}\t{problem.reason}")
        if not report.ok:
            raise CommandError(f"Log repository {repository.name} is damaged: {report.summary()}")
        self.stdout.write(f"Log repository {repository.name}: {report.summary()}.")
