from pathlib import Path

from django.core.management.base import CommandError

from accounts.errors import AccountError
from accounts.roles import Role
from accounts.services import operator_add, tenants_named
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (AccountError,)

    help = (
        "Give a user a role, on every tenant or only on some (--tenants), creating the user if needed. "
        "The password is read from a file (first line), never from the command line, and checked against "
        "the password rules. The same role given again replaces its tenant scope. See docs/access.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="login name")
        parser.add_argument("--role", required=True, choices=Role.values, help="the role to give")
        parser.add_argument("--tenants", help="comma-separated tenant names or tenant IDs (default: every tenant)")
        parser.add_argument("--password-file", help="file whose first line is the password (needed for a new user)")

    def handle(self, *args, username, role, tenants, password_file, **options):
        scope = tenants_named(_names(tenants)) if tenants is not None else None
        password = _password_from(password_file) if password_file else None
        user, created = operator_add(username=username, role=role, tenants=scope, password=password)
        where = "every tenant" if scope is None else ", ".join(t.name for t in scope)
        done = "created with" if created else "now has"
        self.stdout.write(f"User '{user.username}' {done} role {Role(role).label} on {where}.")
        if not created and password:
            self.stdout.write("Its password was replaced.")


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError("--tenants: name at least one tenant, or leave --tenants out for every tenant.")
    return names


def _password_from(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise CommandError(f"--password-file: cannot read {path[:200]!r}: {reason}.") from None
    password = text.splitlines()[0] if text.strip() else ""
    if not password:
        raise CommandError("--password-file: the file is empty; its first line is the password.")
    return password
