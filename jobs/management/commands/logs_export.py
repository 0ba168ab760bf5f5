from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import CommandError

from audittrail.trail import record
from entrabackup.management.base import ProductCommand
from jobs.errors import JobError
from jobs.logbackup.export import records_between, write_csv, write_json
from jobs.models import LogJob
from repositories import logstore
from repositories.errors import RepositoryError
from repositories.log_services import log_repository_backend, log_repository_open, log_repository_translated
from repositories.selectors import log_repository_named
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (JobError, TenantError, RepositoryError, logstore.LogStoreError)
    help = ("Export a tenant's stored audit or sign-in records from FROM to TO, each exactly once, read from the log "
            "repository's chunks (default: the primary of the tenant's first log job). JSON is an array of Graph's "
            "record objects; CSV has the key fields.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--type", required=True, choices=["audit", "signin"])
        parser.add_argument("--from", dest="start", required=True, help="ISO 8601 time (UTC when no offset)")
        parser.add_argument("--to", dest="end", required=True, help="ISO 8601 time (UTC when no offset)")
        parser.add_argument("--format", required=True, choices=["json", "csv"])
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument("--repository", help="log repository name")
        parser.add_argument("--password-file", help="file holding the repository's password (when not stored)")

    def handle(self, *args, tenant, type, start, end, format, output, repository, password_file, **options):
        tenant = tenant_named(tenant)
        start, end = _time(start, "--from"), _time(end, "--to")
        if end < start:
            raise CommandError("--to is before --from.")
        row = log_repository_named(repository) if repository else _primary(tenant)
        with _opened(row, _password(password_file)) as store, log_repository_translated(row):
            records = records_between(store, tenant=str(tenant.key), group=type, start=start, end=end)
            try:
                if format == "json":
                    with open(output, "wb") as out:
                        count = write_json(records, out)
                else:
                    with open(output, "w", newline="", encoding="utf-8") as out:
                        count = write_csv(records, out)
            except OSError as exc:
                raise CommandError(f"--output: cannot write {output}: {exc.strerror}.") from None
        record("export.logs", target=output, tenant=tenant,
               detail={"type": type, "from": start.isoformat(), "to": end.isoformat(), "format": format,
                       "repository": row.name, "records": count})
        self.stdout.write(f"{count} {type} records from {row.name} written to {output}.")


def _time(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{option}: not an ISO 8601 time ({text[:40]!r}).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def _opened(row, password: str | None):
    """The repository opened with its stored password, or with the one given (a repository whose password
    the server does not keep, or a copy of one)."""
    if password is None:
        with log_repository_open(row) as store:
            yield store
        return
    with log_repository_translated(row):
        yield logstore.LogRepository(log_repository_backend(row), password=password)


def _primary(tenant):
    job = LogJob.objects.filter(tenant=tenant).select_related("primary").first()
    if job is None:
        raise CommandError(f"Tenant {tenant.name} has no log job; name a repository with --repository.")
    return job.primary


def _password(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"--password-file: cannot read {path}: {type(exc).__name__}.") from None
