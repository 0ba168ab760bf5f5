import socket
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import administrator_ensure
from dashboard import demo
from dashboard.lock import DemoLock, DemoRunningError
from dashboard.supervisor import Supervisor
from entrabackup import localdb
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    help = (
        "Run the whole product on this machine: the local PostgreSQL, migrations, an administrator "
        "(its password printed once), the Graph emulator with a demo tenant, one backup proxy (qcluster) "
        "and the web server. Ctrl-C stops all of it. One demo at a time per installation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="web server address (default 127.0.0.1:8000)")
        parser.add_argument("--emulator-port", type=int, default=settings.DEMO_EMULATOR_PORT,
                            help="port of the Graph emulator, kept across restarts "
                                 f"(default ENTRABACKUP_DEMO_EMULATOR_PORT, {settings.DEMO_EMULATOR_PORT})")
        parser.add_argument("--keep-db", action="store_true", help="leave the local PostgreSQL running on exit")

    def handle(self, *args, addr, emulator_port, keep_db, **options):
        lock = DemoLock(settings.VAR_DIR / "demo.lock", f"http://{addr}/")
        try:
            lock.acquire()  # before anything starts: a second demo must not touch the first one's processes
        except DemoRunningError as exc:
            raise CommandError(str(exc)) from None
        try:
            self._run(addr, emulator_port, keep_db)
        finally:
            lock.release()

    def _run(self, addr, emulator_port, keep_db):
        _port_free(emulator_port)
        self._prepare()
        supervisor = Supervisor()
        self._start_emulator(supervisor, emulator_port)
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

    def _start_emulator(self, supervisor, port: int):
        """The Graph emulator with a generated tenant stands in for Microsoft's cloud. It keeps its port and
        its state (var/emulator/) across restarts, so the demo tenant's address does not change."""
        state = settings.VAR_DIR / "emulator"
        ready = state / "demo-ready.json"
        ready.unlink(missing_ok=True)
        child = supervisor.start("graph emulator", [sys.executable, "-m", "graph_emulator", "serve", "--port", str(port),
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


def _port_free(port: int) -> None:
    """The emulator's port must be free; say which setting moves it rather than let the emulator crash."""
    if not 1 <= port <= 65535:
        raise CommandError(f"--emulator-port must be between 1 and 65535 (got {port}).")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise CommandError(
                f"Port {port} on 127.0.0.1, where the demo's Graph emulator listens, is used by another program. "
                "Free it, or choose another port with ENTRABACKUP_DEMO_EMULATOR_PORT or --emulator-port "
                "(the demo tenant then follows the new address)."
            ) from None
