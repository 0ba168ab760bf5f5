from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.management.commands.log_repository_add import read_secret_file
from repositories.selectors import log_repository_named
from repositories.services import log_repository_change_password


class Command(ProductCommand):
    domain_errors = (RepositoryError,)
    help = ("Change the encryption password of a log repository. Only its master key is wrapped again; no chunk "
            "is rewritten. A lost password cannot be recovered.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--old-password-file", required=True)
        parser.add_argument("--new-password-file", required=True)
        parser.add_argument("--password-hint", default=None)

    def handle(self, *args, name, old_password_file, new_password_file, password_hint, **options):
        repository = log_repository_named(name)
        log_repository_change_password(
            repository=repository, old_password=read_secret_file(old_password_file, "old password"),
            new_password=read_secret_file(new_password_file, "new password"), password_hint=password_hint)
        self.stdout.write(f"Log repository {repository.name}: password changed (key {repository.key_id} kept, "
                          "no chunk rewritten).")
