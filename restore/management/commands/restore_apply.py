import os
import sys
import time
from pathlib import Path

from django.core.management.base import CommandError

from approvals.actions import restore_apply
from approvals.errors import ApprovalError
from approvals.models import ApprovalRequest
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from entrabackup.vault import VaultError
from jobs.selectors import proxies_running
from restore.errors import RestoreError
from restore.models import RestoreSession, RestoreWrite
from restore.planning import plan_read
from restore.runner import passwords_export
from tenants.errors import TenantError
from tenants.selectors import tenant_named

NO_PROXY = "No backup proxy has reported: start one with `manage.py qcluster` (see docs/operations.md)."


class Command(ProductCommand):
    domain_errors = (RestoreError, TenantError, VaultError, ApprovalError)
    help = (
        "Apply a restore plan made by restore_plan: a restore session on a backup proxy writes it to the tenant, "
        "20 writes per $batch, after checking that production has not changed since the plan was made. The "
        "reason is recorded with the session. Applying the same plan again resumes an unfinished session and "
        "skips what it did. With --wait, shows progress and exits 0 only when every write succeeded or was "
        "skipped for a stated reason; new users' passwords are then printed once (or written once to "
        "--passwords-output). A restore of at least the size set for four-eyes approval waits for a second "
        "administrator (docs/approvals.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("plan", type=Path, metavar="PLAN.json")
        parser.add_argument("--reason", required=True, help="why this restore is made (recorded)")
        parser.add_argument("--wait", action="store_true", help="wait for the session to end")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="with --wait: give up after this many seconds")
        parser.add_argument("--passwords-output", type=Path, metavar="FILE",
                            help="with --wait: write new users' passwords here (CSV, mode 0600) instead of printing")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks for the restore (default: the local administrator)")

    def handle(self, *args, plan, reason, wait, timeout, passwords_output, as_user, **options):
        doc = plan_read(plan)
        tenant = tenant_named(doc["tenant"]["name"])
        session = restore_apply(tenant=tenant, plan=doc, reason=reason, user=command_user(as_user, required=False))
        if isinstance(session, ApprovalRequest):
            message = (f"This restore of {len(doc['steps'])} writes waits for a second administrator: approval "
                       f"request {session.pk} (manage.py approval_approve --id {session.pk} --as ANOTHER_ADMIN).")
            if wait:
                raise CommandError(message + " Nothing was written yet.")
            self.stdout.write(message)
            return
        resumed = f", resuming session {session.resume_of_id}" if session.resume_of_id else ""
        self.stdout.write(f"Restore session {session.pk} queued for tenant {tenant.name}{resumed}.")
        if not wait:
            return
        session = self._follow(session.pk, timeout)
        self._report(session, passwords_output)

    def _follow(self, session_id: int, timeout: float) -> RestoreSession:
        deadline, terminal, warned = time.monotonic() + timeout, sys.stdout.isatty(), False
        while True:
            session = RestoreSession.objects.get(pk=session_id)
            if session.finished:
                return session
            if time.monotonic() > deadline:
                raise CommandError(f"Restore session {session_id} did not finish within {timeout:.0f} s (it goes on).")
            if session.status == RestoreSession.Status.QUEUED and not warned and not proxies_running():
                self.stderr.write(NO_PROXY)
                warned = True
            if terminal and session.progress:
                sys.stdout.write(f"\r  {session.progress.get('done', 0)}/{session.progress.get('total', 0)} steps, "
                                 f"{session.progress.get('requests', 0)} requests")
                sys.stdout.flush()
            time.sleep(0.5)

    def _report(self, session: RestoreSession, passwords_output: Path | None) -> None:
        counts = {}
        for status in session.writes.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        self.stdout.write("  " + ", ".join(f"{RestoreWrite.Status(k).label.lower()} {v}" for k, v in sorted(counts.items())))
        for write in session.writes.filter(status__in=["failed", "not_done"])[:20]:
            self.stderr.write(f"  {write.step} {write.op} {write.object_type} {write.name}: {write.detail}")
        self._passwords(session, passwords_output)
        if session.status != RestoreSession.Status.SUCCESS:
            raise CommandError(f"Restore session {session.pk} {session.status}: {session.error}")
        self.stdout.write(f"Restore session {session.pk} succeeded.")

    def _passwords(self, session: RestoreSession, output: Path | None) -> None:
        text = passwords_export(session)
        if text.count("\n") <= 1:
            return
        if output is None:
            self.stdout.write("New users' passwords (shown once; they must be changed at next sign-in):")
            self.stdout.write(text.rstrip("\n"))
            return
        try:
            with open(output, "x", encoding="utf-8", opener=lambda path, flags: os.open(path, flags, 0o600)) as handle:
                handle.write(text)
        except OSError as exc:  # the passwords are gone from the session: print them rather than lose them
            self.stderr.write(f"Cannot write {output} ({exc.strerror}); the passwords, shown once:")
            self.stdout.write(text.rstrip("\n"))
            return
        self.stdout.write(f"New users' passwords written once to {output}.")
