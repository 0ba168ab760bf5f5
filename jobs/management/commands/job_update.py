from django.core.management.base import CommandError

from approvals.errors import ApprovalError
from approvals.services import command_user
from entrabackup.management.base import ProductCommand
from jobs import lifecycle
from jobs.errors import JobError, JobValidationError
from jobs.management.commands.job_add import OPTION, SCHEDULE_OPTION
from jobs.models import BackupJob
from jobs.selectors import proxy_named
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from tenants.errors import TenantError


def job_by_name(name: str) -> BackupJob:
    """The job with this name (any case) or id; JobError otherwise."""
    job = BackupJob.objects.filter(name__iexact=name).first() if name.isprintable() else None
    if job is None and name.isascii() and name.isdigit() and len(name) < 19:
        job = BackupJob.objects.filter(pk=int(name)).first()
    if job is None:
        raise JobError(f"No job named {name[:100]!r}; see manage.py job_list.")
    return job


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError, ApprovalError)
    help = ("Change a backup job; only the options given change. Schedules: --every-minutes N, --every-hours N, "
            "--daily HH:MM, --cron EXPR or --manual. A lower retention expires restore points at the next session.")

    def add_arguments(self, parser):
        parser.add_argument("--job", required=True, help="job name (or id)")
        parser.add_argument("--name", help="a new name")
        parser.add_argument("--repository", help="repository name (the next session reads everything into it)")
        parser.add_argument("--types", nargs="+", help="object types (all: --types all)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--every-minutes", type=str)
        when.add_argument("--every-hours", type=str)
        when.add_argument("--daily", metavar="HH:MM")
        when.add_argument("--cron", metavar="EXPR")
        when.add_argument("--manual", action="store_true", help="only when started by hand")
        parser.add_argument("--retention-days", type=int, help="0: no limit by age")
        parser.add_argument("--retention-points", type=int, help="0: no limit by count")
        parser.add_argument("--full-every-days", type=int)
        parser.add_argument("--proxy", help="pin to this proxy ('' to unpin)")
        parser.add_argument("--retries", type=int)
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", action="store_true")
        state.add_argument("--disable", action="store_true", help="not scheduled; its restore points are kept")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="who asks, when four-eyes approval is on (default: the local administrator)")

    def handle(self, *args, **opts):
        job = job_by_name(opts["job"])
        changes = self._changes(opts)
        if not changes:
            raise CommandError("Nothing to change: give at least one setting (see --help).")
        try:
            done = lifecycle.job_update(job=job, user=command_user(opts["as_user"], required=False), **changes)
        except JobValidationError as exc:
            option = SCHEDULE_OPTION.get(changes.get("schedule_kind")) if exc.field == "schedule_value" else OPTION.get(exc.field)
            raise JobError(f"{option}: {exc}" if option else str(exc)) from None
        if not isinstance(done, BackupJob):
            self.stdout.write(f"Lowering the retention waits for a second administrator's approval (request {done.pk}).")
            return
        state = "" if done.enabled else " (disabled)"
        next_run = f"{done.next_run_at:%Y-%m-%d %H:%M %Z}" if done.next_run_at and done.enabled else "-"
        self.stdout.write(f"Job '{done.name}' updated{state}; next run: {next_run}.")

    def _changes(self, opts) -> dict:
        changes = {}
        for option, kind in (("every_minutes", "minutes"), ("every_hours", "hours"), ("daily", "daily"), ("cron", "cron")):
            if opts[option] is not None:
                changes.update(schedule_kind=kind, schedule_value=opts[option])
        if opts["manual"]:
            changes.update(schedule_kind=BackupJob.ScheduleKind.MANUAL, schedule_value="")
        for name in ("name", "full_every_days", "retries"):
            if opts[name] is not None:
                changes[name] = opts[name]
        for name in ("retention_days", "retention_points"):
            if opts[name] is not None:
                changes[name] = opts[name] or None  # 0: no limit
        if opts["types"] is not None:
            changes["object_types"] = [] if opts["types"] == ["all"] else opts["types"]
        if opts["repository"]:
            changes["repository"] = repository_named(opts["repository"])
        if opts["proxy"] is not None:
            changes["proxy"] = proxy_named(opts["proxy"]) if opts["proxy"] else None
        if opts["enable"] or opts["disable"]:
            changes["enabled"] = bool(opts["enable"])
        return changes
