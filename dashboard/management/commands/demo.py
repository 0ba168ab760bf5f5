import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.services import administrator_ensure
from dashboard import demo
from dashboard.supervisor import Supervisor
from entrabackup import localdb


class Command(BaseCommand):
    help = (
        "Run the whole product on this machine: the local PostgreSQL, migrations, an administrator "
        "(its password printed once), one backup proxy (qcluster) and the web server. Ctrl-C stops all of it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="web server address (default 127.0.0.1:8000)")
        parser.add_argument("--keep-db", action="store_true", help="leave the local PostgreSQL running on exit")

    def handle(self, *args, addr, keep_db, **options):
        self._prepare()
        supervisor = Supervisor()
        self._start_emulator(supervisor)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        supervisor.start("backup proxy", manage + ["qcluster"])
        supervisor.start("web server", manage + ["runserver", addr, "--noreload"])
        self.stdout.write(self.style.SUCCESS(f"\nentrabackup is running: http://{addr}/   (Ctrl-C stops everything)\n"))
        status = supervisor.wait()
        if not settings.DATABASE_URL and not keep_db:
            localdb.stop(settings.LOCALDB_PGDATA)
            self.stdout.write("Local PostgreSQL stopped.")
        if status:
            raise SystemExit(status)

    def _start_emulator(self, supervisor):
        """The Graph emulator with a generated tenant stands in for Microsoft's cloud."""
        state = settings.VAR_DIR / "emulator"
        ready = state / "demo-ready.json"
        ready.unlink(missing_ok=True)
        child = supervisor.start("graph emulator", [sys.executable, "-m", "graph_emulator", "serve",
                                                    "--state-dir", str(state), "--ready-file", str(ready)],
                                 cwd=str(settings.BASE_DIR))
        try:
            emulator = demo.wait_for_emulator(ready, child.process)
            self.stdout.write(f"Graph emulator at {emulator.url}; generating the demo tenant ({demo.DEMO_USERS} users)...")
            tenant, report = demo.demo_tenant_ensure(emulator)
        except Exception:
            supervisor.stop_all()
            raise
        self.stdout.write(f"Tenant '{tenant.name}' ({tenant.directory_id}): {report['summary']}")
        session = demo.demo_first_backup(tenant)
        if session is not None:
            self.stdout.write(f"First backup queued as session {session.pk}: /jobs/sessions/{session.pk}/")

    def _prepare(self):
        self.stdout.write("Preparing the configuration database and static files...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        user, password = administrator_ensure(username="admin")
        if password:
            self.stdout.write(self.style.WARNING(f"Administrator login: {user.username} / {password}"))
            self.stdout.write("(shown only now; stored nowhere in clear)")
        else:
            self.stdout.write(
                f"Administrator '{user.username}' exists; its password is unchanged "
                f"(reset it with: manage.py changepassword {user.username})."
            )
