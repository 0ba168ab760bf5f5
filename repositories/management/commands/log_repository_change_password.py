from approvals.actions import log_repository_password_change
from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.management.commands.log_repository_add import read_secret_file
from repositories.selectors import log_repository_named


class Command(ProductCommand):
    domain_errors = (RepositoryError, ApprovalError)
    help = ("Change the encryption password of a log repository. Only its master key is wrapped again; no chunk "
            "is rewritten. A lost password cannot be recovered. With four-eyes approval on for encryption, it waits "
            "for a second administrator.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--old-password-file", required=True)
        parser.add_argument("--new-password-file", required=True)
        parser.add_argument("--password-hint", default=None)
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks for it (default: the local administrator); see docs/approvals.md")

    def handle(self, *args, name, old_password_file, new_password_file, password_hint, as_user, **options):
        repository = log_repository_named(name)
        changed = log_repository_password_change(
            repository=repository, old_password=read_secret_file(old_password_file, "old password"),
            new_password=read_secret_file(new_password_file, "new password"), password_hint=password_hint,
            user=command_user(as_user, required=False))
        if isinstance(changed, ApprovalRequest):
            self.stdout.write(f"Changing the password waits for a second administrator: approval request {changed.pk} "
                              f"(manage.py approval_approve --id {changed.pk} --as ANOTHER_ADMIN).")
            return
        self.stdout.write(f"Log repository {repository.name}: password changed (key {repository.key_id} kept, "
                          "no chunk rewritten).")
