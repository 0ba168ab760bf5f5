from approvals.errors import ApprovalError
from approvals.models import Action
from approvals.selectors import switches
from approvals.services import command_user, switch_set
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (ApprovalError,)
    help = ("Show the four-eyes switches, or change one: --action A --on|--off [--min-writes N]. Turning one off "
            "(or raising the size of a large restore) waits for a second administrator. Runs as the local "
            "administrator, or --as USERNAME.")

    def add_arguments(self, parser):
        parser.add_argument("--action", choices=Action.values)
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--on", dest="enabled", action="store_true", default=None)
        state.add_argument("--off", dest="enabled", action="store_false")
        parser.add_argument("--min-writes", type=int, help="restore.apply_large: from this many planned writes")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="act as this administrator")

    def handle(self, *args, action, enabled, min_writes, as_user, **options):
        if action is not None:
            if enabled is None:
                raise ApprovalError("Give --on or --off with --action.")
            waiting = switch_set(action=action, enabled=enabled, min_writes=min_writes, user=command_user(as_user))
            if waiting is not None:
                self.stdout.write(f"Waiting for a second administrator: request {waiting.pk} ({waiting.summary}).")
                return
        for switch in switches():
            size = f" from {switch.min_writes or 0} planned writes" if switch.enabled and switch.min_writes else ""
            self.stdout.write(f"{switch.action}\t{'on' if switch.enabled else 'off'}{size}\t{switch.get_action_display()}")
