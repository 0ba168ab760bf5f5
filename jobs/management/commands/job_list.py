from entrabackup.management.base import ProductCommand
from jobs.models import BackupJob
from jobs.schedules import describe


class Command(ProductCommand):
    help = "List backup jobs: tenant, repository, schedule, retention, next run and the last session."

    def handle(self, *args, **options):
        jobs = BackupJob.objects.select_related("tenant", "repository").order_by("name")
        if not jobs:
            self.stdout.write("No backup job. Create one with: manage.py job_add --help")
            return
        rows = [("JOB", "TENANT", "REPOSITORY", "SCHEDULE", "RETENTION", "NEXT RUN", "LAST SESSION")]
        for job in jobs:
            last = job.sessions.order_by("-queued_at").first()
            retention = ", ".join(filter(None, [f"{job.retention_days} days" if job.retention_days else "",
                                                f"{job.retention_points} points" if job.retention_points else ""])) or "forever"
            rows.append((job.name, job.tenant.name, job.repository.name,
                         describe(job.schedule_kind, job.schedule_value) + ("" if job.enabled else " (disabled)"),
                         retention, f"{job.next_run_at:%Y-%m-%d %H:%M}" if job.next_run_at else "-",
                         f"{last.pk} {last.status}" if last else "-"))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
