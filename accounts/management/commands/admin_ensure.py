from accounts.errors import AccountError
from accounts.services import administrator_ensure
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (AccountError,)

    help = (
        "Create an administrator with a random password and print the password once "
        "(it is stored nowhere in clear). An existing administrator is left unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="login name (default: admin)")

    def handle(self, *args, username, **options):
        try:
            user, password = administrator_ensure(username=username)
        except AccountError as exc:
            raise AccountError(f"--username: {exc}") from None
        if password is None:
            self.stdout.write(f"Administrator '{user.username}' already exists; its password is unchanged.")
            self.stdout.write("Forgot it? Run: manage.py changepassword " + user.username)
            return
        self.stdout.write(f"Administrator created. Login: {user.username}  Password: {password}")
        self.stdout.write("This password is shown only now. Change it with: manage.py changepassword " + user.username)
