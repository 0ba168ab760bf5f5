from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from jobs import lifecycle
from jobs.errors import JobError


class Command(ProductCommand):
    domain_errors = (JobError,)
    help = ("Cancel a queued or running session: a backup session stops at its next page keeping no restore "
            "point, a log session keeps the chunks it stored, a restore stops after the $batch it is sending. "
            "Exit status 1 when the session has already finished.")

    def add_arguments(self, parser):
        parser.add_argument("--id", required=True, help="the session's id")
        parser.add_argument("--kind", choices=list(lifecycle.SESSION_KINDS), default="backup")

    def handle(self, *args, id, kind, **options):
        if not (id.isascii() and id.isdigit() and len(id) < 19):
            raise CommandError(f"--id is a session's number (got {id[:40]!r}).")
        session = lifecycle.SESSION_KINDS[kind].objects.select_related("tenant").filter(pk=int(id)).first()
        if session is None:
            raise CommandError(f"No {kind} session {id}; see manage.py session_list --kind {kind}.")
        if not lifecycle.session_cancel_any(kind=kind, session=session):
            raise CommandError(f"The {kind} session {id} has already finished ({session.status}).")
        self.stdout.write(f"Cancellation of {kind} session {id} ({session.tenant.name}) requested.")
