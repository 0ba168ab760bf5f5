from accounts.errors import AccountError
from accounts.second_factor import second_factor_reset
from approvals.errors import ApprovalError
from approvals.services import command_user
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (AccountError, ApprovalError)
    help = ("Remove a user's authenticator app (a lost phone): they sign in with their password alone until they "
            "set one up again. Recorded in the audit trail. Runs as the local administrator, or --as USERNAME.")

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="whose second factor is reset")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this administrator")

    def handle(self, *args, username, as_user, **options):
        removed = second_factor_reset(username=username, by=command_user(as_user))
        self.stdout.write(f"{username}: second factor reset ({removed} device(s) removed).")
