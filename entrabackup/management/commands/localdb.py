from django.conf import settings
from django.core.management.base import CommandError

from entrabackup import localdb
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    """It reads no table, so it works before `migrate`; the base only names a failure if one comes."""

    help = (
        "Manage the local PostgreSQL server in var/pg/ (used when DATABASE_URL is not set). "
        "start: start it or reuse a running one and create the configuration database; "
        "stop: fast shutdown; status: print whether it runs (exit status 0 when it does, 3 when not)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        if settings.DATABASE_URL:
            self.stderr.write("Note: DATABASE_URL is set, so the server does not use this local PostgreSQL.")
        pgdata = settings.LOCALDB_PGDATA
        try:
            getattr(self, f"_{action}")(pgdata)
        except localdb.LocalDatabaseError as exc:
            raise CommandError(str(exc)) from exc

    def _start(self, pgdata):
        server = localdb.ensure_running(pgdata)
        localdb.ensure_database(server, settings.LOCALDB_NAME)
        self.stdout.write(f"running: pid {server.pid}, data {server.pgdata}, socket {server.socket_dir}")

    def _stop(self, pgdata):
        stopped = localdb.stop(pgdata)
        self.stdout.write("stopped" if stopped else "not running")

    def _status(self, pgdata):
        server = localdb.read_server(pgdata.resolve())
        if server is None:
            self.stdout.write(f"not running (data {pgdata})")
            raise SystemExit(3)
        self.stdout.write(f"running: pid {server.pid}, data {server.pgdata}, socket {server.socket_dir}")
