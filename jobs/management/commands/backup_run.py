import sys
import time

from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from jobs.errors import JobError
from jobs.models import BackupSession
from jobs.selectors import job_named, proxies_running
from jobs.services import job_for_tenant, session_create
from tenants.errors import TenantError
from tenants.selectors import tenant_named

# How long --wait gives a proxy that is starting at the same time to report, after saying that none has.
PROXY_GRACE_SECONDS = 15.0
NO_PROXY = "No backup proxy has reported: start one with `manage.py qcluster` (see docs/operations.md)."


class Command(ProductCommand):
    domain_errors = (JobError, TenantError)
    help = (
        "Back up a tenant now. Queues a session for a backup proxy (manage.py qcluster); with --wait, shows its "
        "progress, prints the restore point id and exits with status 0 only when the session succeeded. When no "
        f"proxy has reported, --wait says so at once and, unless one reports within {PROXY_GRACE_SECONDS:.0f} s, "
        "exits with status 1 leaving the session queued; --wait-for-proxy waits for one instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant name")
        parser.add_argument("--job", help="job name, when the tenant has several")
        parser.add_argument("--types", nargs="+", default=[], help="object types (default: the job's)")
        parser.add_argument("--full", action="store_true", help="read everything, not only changes")
        parser.add_argument("--wait", action="store_true", help="wait for the session to end")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="with --wait: give up after this many seconds")
        parser.add_argument("--wait-for-proxy", action="store_true",
                            help="with --wait: keep waiting when no backup proxy is running, until --timeout")

    def handle(self, *args, tenant, job, types, full, wait, timeout, wait_for_proxy, **options):
        tenant = tenant_named(tenant)
        chosen = job_named(tenant, job) if job else job_for_tenant(tenant)
        session = session_create(job=chosen, kind="full" if full else "auto", object_types=types or None)
        self.stdout.write(f"Session {session.pk} queued for job '{chosen.name}'.")
        if not wait:
            return
        session = self._follow(session.pk, timeout, wait_for_proxy)
        self._report(session)

    def _follow(self, session_id: int, timeout: float, wait_for_proxy: bool) -> BackupSession:
        deadline, terminal = time.monotonic() + timeout, sys.stdout.isatty()
        proxy_deadline = None
        while True:
            session = BackupSession.objects.get(pk=session_id)
            if session.finished:
                if terminal:
                    sys.stdout.write("\n")
                return session
            if time.monotonic() > deadline:
                raise CommandError(f"Session {session_id} did not finish within {timeout:.0f} s (it goes on).")
            if session.status == BackupSession.Status.QUEUED and not wait_for_proxy and not proxies_running():
                if proxy_deadline is None:
                    self.stderr.write(NO_PROXY)
                    proxy_deadline = time.monotonic() + PROXY_GRACE_SECONDS
                elif time.monotonic() > proxy_deadline:
                    raise CommandError(f"{NO_PROXY} Session {session_id} stays queued and runs when a proxy "
                                       "starts; add --wait-for-proxy to wait for one.")
            if terminal:
                sys.stdout.write("\r" + _bar(session))
                sys.stdout.flush()
            time.sleep(0.5)

    def _report(self, session: BackupSession) -> None:
        for object_type, counts in session.stats.items():
            self.stdout.write(f"  {object_type:<30} read {counts.get('read', 0):>7}  new {counts.get('new', 0):>6}  "
                              f"changed {counts.get('changed', 0):>6}  deleted {counts.get('deleted', 0):>6}")
        for warning in session.warnings:
            self.stderr.write(f"warning: {warning}")
        if session.status not in (BackupSession.Status.SUCCESS, BackupSession.Status.WARNING):
            raise CommandError(f"Session {session.pk} {session.status}: {session.error}")
        self.stdout.write(f"restore point {session.restore_point_id}")


def _bar(session: BackupSession, width: int = 30) -> str:
    if session.status == BackupSession.Status.QUEUED:
        return "waiting for a backup proxy..."
    done = len(session.stats)
    total = max(len(session.object_types), done, 1)
    filled = int(width * done / total)
    current = session.progress.get("current", "")
    read = session.progress.get("read", {}).get(current, 0)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} types  {current} {read:>8} read   "
