from django.core.management.base import BaseCommand, CommandError

from jobs.errors import JobError
from jobs.management.commands._common import tenant_named
from jobs.models import BackupJob, Proxy
from jobs.services import job_create
from repositories.models import Repository


class Command(BaseCommand):
    help = (
        "Create a backup job for a tenant. Schedules: --every-minutes N, --every-hours N, --daily HH:MM or "
        "--cron 'MIN HOUR DAY MONTH WEEKDAY' (none: manual only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--name", help="default: '<tenant> directory backup'")
        parser.add_argument("--repository", help="repository name (default: the local repository)")
        parser.add_argument("--types", nargs="+", default=[], help="object types (default: all)")
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--every-minutes", type=str)
        when.add_argument("--every-hours", type=str)
        when.add_argument("--daily", metavar="HH:MM")
        when.add_argument("--cron", metavar="EXPR")
        parser.add_argument("--retention-days", type=int)
        parser.add_argument("--retention-points", type=int)
        parser.add_argument("--full-every-days", type=int, default=7, help="full reconciliation read (0: never)")
        parser.add_argument("--proxy", help="pin to this proxy (see the Sessions page)")
        parser.add_argument("--retries", type=int, default=1)
        parser.add_argument("--disabled", action="store_true")

    def handle(self, *args, **opts):
        kind, value = _schedule(opts)
        try:
            job = job_create(
                tenant=tenant_named(opts["tenant"]), name=opts["name"], repository=_repository(opts["repository"]),
                object_types=opts["types"], schedule_kind=kind, schedule_value=value,
                retention_days=opts["retention_days"], retention_points=opts["retention_points"],
                full_every_days=opts["full_every_days"], proxy=_proxy(opts["proxy"]), retries=opts["retries"],
                enabled=not opts["disabled"],
            )
        except JobError as exc:
            raise CommandError(str(exc)) from None
        next_run = f"{job.next_run_at:%Y-%m-%d %H:%M %Z}" if job.next_run_at else "only when started by hand"
        self.stdout.write(f"Job '{job.name}' created (id {job.pk}); next run: {next_run}.")


def _schedule(opts) -> tuple[str, str]:
    for option, kind in (("every_minutes", "minutes"), ("every_hours", "hours"), ("daily", "daily"), ("cron", "cron")):
        if opts[option] is not None:
            return kind, opts[option]
    return BackupJob.ScheduleKind.MANUAL, ""


def _repository(name):
    if not name:
        return None
    repository = Repository.objects.filter(name__iexact=name).first()
    if repository is None:
        raise CommandError(f"No repository named {name!r}.")
    return repository


def _proxy(name):
    if not name:
        return None
    proxy = Proxy.objects.filter(name=name).first()
    if proxy is None:
        raise CommandError(f"No proxy named {name!r}; the Sessions page lists the running ones.")
    return proxy
