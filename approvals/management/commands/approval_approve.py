from django.core.management.base import CommandError

from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest
from approvals.services import approval_approve, command_user
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (ApprovalError,)
    help = ("Approve a four-eyes request and run its action once. Runs as the local administrator, or --as "
            "USERNAME; nobody approves their own request.")

    def add_arguments(self, parser):
        parser.add_argument("--id", dest="approval_id", type=int, required=True, help="the request's number")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this administrator")
        parser.add_argument("--note", default="", help="why (kept with the decision)")

    def handle(self, *args, approval_id, as_user, note, **options):
        approval = approval_approve(approval_id=approval_id, user=command_user(as_user), note=note)
        if approval.status != ApprovalRequest.Status.DONE:
            raise CommandError(f"Request {approval.pk} approved, but {approval.get_status_display().lower()}: "
                               f"{approval.result}")
        self.stdout.write(f"Request {approval.pk} approved: {approval.result}")
