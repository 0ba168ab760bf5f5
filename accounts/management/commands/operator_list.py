from accounts.selectors import operators
from entrabackup.management.base import ProductCommand

HEADER = ("USER", "ROLES (TENANTS)", "LAST LOGIN", "TOTP", "STATE")


class Command(ProductCommand):
    help = "List the operators: their roles and tenant scopes, last login and second factor."

    def handle(self, *args, **options):
        rows = [HEADER] + [_row(operator) for operator in operators()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
        for row in rows:
            self.stdout.write("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]))


def _row(operator) -> tuple[str, ...]:
    roles = [f"{label} ({'all tenants' if names is None else ', '.join(names) or 'no tenant left'})"
             for label, names in operator.roles]
    if operator.superuser:
        roles.insert(0, "Local administrator (superuser, all tenants)")
    state = "active" if operator.active else "disabled"
    login = operator.last_login.strftime("%Y-%m-%d %H:%M UTC") if operator.last_login else "never"
    # User and tenant names are printable by their own rules: nothing here can drive the terminal.
    return operator.username, "; ".join(roles) or "no role", login, operator.second_factor, state
