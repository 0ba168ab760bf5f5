import json

from entrabackup.management.base import ProductCommand
from jobs import lifecycle
from jobs.errors import JobError, JobValidationError
from tenants.errors import TenantError
from tenants.selectors import tenant_named


def row(kind: str, session) -> dict:
    duration = (session.ended_at - session.started_at).total_seconds() if session.ended_at and session.started_at else None
    return {"kind": kind, "id": session.pk, "tenant": session.tenant.name, "status": session.status,
            "queued_at": session.queued_at.isoformat(), "started_at": session.started_at and session.started_at.isoformat(),
            "ended_at": session.ended_at and session.ended_at.isoformat(), "duration_seconds": duration,
            "error": session.error}


class Command(ProductCommand):
    domain_errors = (JobError, TenantError)
    help = ("List backup, log and restore sessions, newest first, filtered by tenant, kind, status and the time "
            "they were queued (ISO 8601). --format json for scripts.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant name (or id)")
        parser.add_argument("--kind", default="", help=f"one of {', '.join(lifecycle.SESSION_KINDS)} (default: all)")
        parser.add_argument("--status", default="", help=f"one of {', '.join(lifecycle.STATUSES)}")
        parser.add_argument("--from", dest="start", default="", metavar="ISO", help="queued at or after")
        parser.add_argument("--to", dest="end", default="", metavar="ISO", help="queued at or before")
        parser.add_argument("--limit", default="100", help="at most this many (1 to 10000, default 100)")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **opts):
        try:
            spec = lifecycle.session_filter_validate(
                tenant=tenant_named(opts["tenant"]) if opts["tenant"] else None, kind=opts["kind"],
                status=opts["status"], start=opts["start"], end=opts["end"], limit=opts["limit"])
        except JobValidationError as exc:
            raise JobError(f"--{exc.field}: {exc}") from None
        found = [row(kind, s) for kind, s in lifecycle.sessions_filtered(lambda model: model.objects.all(), spec)]
        if opts["format"] == "json":
            self.stdout.write(json.dumps(found, indent=2))
            return
        if not found:
            self.stdout.write("No session matches.")
            return
        table = [("KIND", "ID", "TENANT", "STATUS", "QUEUED", "DURATION", "ERROR")]
        table += [(r["kind"], r["id"], r["tenant"], r["status"], r["queued_at"][:19].replace("T", " "),
                   _seconds(r["duration_seconds"]), r["error"].splitlines()[0][:60] if r["error"] else "") for r in found]
        widths = [max(len(str(t[i])) for t in table) for i in range(len(table[0]))]
        for t in table:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
