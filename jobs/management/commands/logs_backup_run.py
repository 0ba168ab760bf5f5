import sys
import time

from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from jobs.errors import JobError
from jobs.logbackup.services import log_jobs_for_tenant, log_session_create
from jobs.logbackup.types import LOG_TYPES
from jobs.management.commands.backup_run import NO_PROXY, PROXY_GRACE_SECONDS
from jobs.models import LogSession
from jobs.selectors import proxies_running
from repositories.errors import RepositoryError
from tenants.errors import TenantError
from tenants.selectors import tenant_named

Status = LogSession.Status


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError)
    help = ("Back up a tenant's audit and sign-in logs now: one log session per log job of the tenant (a first job "
            "into the default log repository when it has none). With --wait, shows progress and the counts and exits "
            "0 only when every session succeeded (with or without warnings).")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--wait", action="store_true")
        parser.add_argument("--timeout", type=float, default=6 * 3600)
        parser.add_argument("--wait-for-proxy", action="store_true")

    def handle(self, *args, tenant, wait, timeout, wait_for_proxy, **options):
        tenant = tenant_named(tenant)
        sessions = [log_session_create(job=job) for job in log_jobs_for_tenant(tenant)]
        for session in sessions:
            self.stdout.write(f"Log session {session.pk} queued for log job {session.job_id}.")
        if not wait:
            return
        failed = [s for s in (self._follow(s.pk, timeout, wait_for_proxy) for s in sessions) if not self._report(s)]
        if failed:
            raise CommandError("; ".join(f"Log session {s.pk} {s.status}: {s.error}" for s in failed))

    def _follow(self, session_id: int, timeout: float, wait_for_proxy: bool) -> LogSession:
        deadline, terminal, proxy_deadline = time.monotonic() + timeout, sys.stdout.isatty(), None
        while True:
            session = LogSession.objects.get(pk=session_id)
            if session.finished:
                if terminal:
                    sys.stdout.write("\n")
                return session
            if time.monotonic() > deadline:
                raise CommandError(f"Log session {session_id} did not finish within {timeout:.0f} s (it goes on).")
            if session.status == Status.QUEUED and not wait_for_proxy and not proxies_running():
                if proxy_deadline is None:
                    self.stderr.write(NO_PROXY)
                    proxy_deadline = time.monotonic() + PROXY_GRACE_SECONDS
                elif time.monotonic() > proxy_deadline:
                    raise CommandError(f"{NO_PROXY} Log session {session_id} stays queued and runs when a proxy "
                                       "starts; add --wait-for-proxy to wait for one.")
            if terminal:
                sys.stdout.write("\r" + _bar(session))
                sys.stdout.flush()
            time.sleep(0.5)

    def _report(self, session: LogSession) -> bool:
        for key, c in session.stats.items():
            self.stdout.write(f"  {key:<26} read {c.get('read', 0):>7}  new {c.get('new', 0):>7}  duplicates "
                              f"{c.get('duplicates', 0):>6}  chunks {c.get('chunks', 0):>4}  bytes {c.get('bytes', 0):>9}"
                              f"  429s {c.get('throttled', 0)}  {c.get('start', '')} .. {c.get('end', '')}")
        for warning in session.warnings:
            self.stderr.write(f"warning: {warning}")
        return session.status in (Status.SUCCESS, Status.WARNING)


def _bar(session: LogSession) -> str:
    if session.status == Status.QUEUED:
        return "waiting for a backup proxy..."
    p = session.progress
    total = len(session.job.log_types or LOG_TYPES)
    return f"[{len(session.stats)}/{total} types] {p.get('current', '')} read {p.get('read', 0):>8}  new {p.get('new', 0):>8}   "
