from approvals.errors import ApprovalError
from approvals.services import approval_deny, command_user
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (ApprovalError,)
    help = "Deny a four-eyes request; nothing is done. Runs as the local administrator, or --as USERNAME."

    def add_arguments(self, parser):
        parser.add_argument("--id", dest="approval_id", type=int, required=True, help="the request's number")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this administrator")
        parser.add_argument("--note", default="", help="why (kept with the decision)")

    def handle(self, *args, approval_id, as_user, note, **options):
        approval = approval_deny(approval_id=approval_id, user=command_user(as_user), note=note)
        self.stdout.write(f"Request {approval.pk} denied; nothing was done.")
