from django.core.management.base import CommandError

from accounts.errors import AccountError
from accounts.services import login_unlock
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (AccountError,)

    help = (
        "Lift a login lockout: clear the failed logins recorded for a user (from every address), for an "
        "address, or for one user from one address. `manage.py axes_list_attempts` lists them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", help="login name whose failed logins are cleared")
        parser.add_argument("--ip", dest="ip_address", help="client address whose failed logins are cleared")

    def handle(self, *args, username, ip_address, **options):
        if not username and not ip_address:
            raise CommandError("Give --username NAME, --ip ADDRESS, or both.")
        removed = login_unlock(username=username, ip_address=ip_address)
        who = " from ".join(filter(None, [f"user '{username}'" if username else None, ip_address]))
        if removed:
            self.stdout.write(f"Unlocked {who}: {removed} failed-login record(s) cleared.")
        else:
            self.stdout.write(f"No failed login is recorded for {who}; nothing to unlock.")
