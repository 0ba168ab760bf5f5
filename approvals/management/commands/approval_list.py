from approvals.errors import ApprovalError
from approvals.selectors import approvals_visible_to
from approvals.services import approvals_expire, command_user, params_described
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (ApprovalError,)
    help = ("List four-eyes approval requests: who asked, what, when, and the details. Pending ones by default; "
            "--all adds the decided ones. Runs as the local administrator, or --as USERNAME.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="also the decided, expired and withdrawn requests")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this user")

    def handle(self, *args, all, as_user, **options):  # noqa: A002 - the option's name
        approvals_expire()
        rows = approvals_visible_to(command_user(as_user))
        if not all:
            rows = rows.filter(status="pending")
        count = 0
        for approval in rows[:500]:
            count += 1
            self.stdout.write(f"#{approval.pk}\t{approval.get_status_display()}\t{approval.action}\t{approval.summary}")
            self.stdout.write(f"\tasked by {approval.requested_by.get_username()} at "
                              f"{approval.requested_at:%Y-%m-%d %H:%M}, expires {approval.expires_at:%Y-%m-%d %H:%M}")
            for label, value in params_described(approval):
                self.stdout.write(f"\t{label}: {value}")
            if approval.result:
                self.stdout.write(f"\tresult: {approval.result}")
        if not count:
            self.stdout.write("No approval request is waiting." if not all else "No approval request.")
