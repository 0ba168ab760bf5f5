import io
import os
import sys
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from audittrail.trail import record
from entrabackup import objecttypes
from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from restore.compare import report_csv, report_json
from restore.errors import RestoreError
from restore.forms import point_spec_parse
from restore.selectors import PRODUCTION
from restore.services import tenant_compare
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (RestoreError, RepositoryError, TenantError)
    help = (
        "Compare two restore points of a tenant, or a restore point with production (read live through Graph, "
        "nothing written): created, deleted, restored and changed objects with the attributes (old and new "
        "values) and relationships that changed, related objects by name. Volatile attributes (sign-in times, "
        "sync stamps, modification stamps) are left out unless --include-volatile. See docs/compare.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--from", dest="source", required=True, metavar="RP",
                            help="a restore point: latest, <repository>:<id>, or an id unambiguous among the "
                                 "tenant's repositories")
        parser.add_argument("--to", dest="target", required=True, metavar="RP|production")
        parser.add_argument("--types", nargs="+", metavar="TYPE",
                            help=f"only these object types (space or comma separated): {', '.join(objecttypes.NAMES)}")
        parser.add_argument("--object", dest="object_id", metavar="ID", help="only this object and its relationships")
        parser.add_argument("--include-volatile", action="store_true")
        parser.add_argument("--format", required=True, choices=["json", "csv"])
        parser.add_argument("--output", required=True, metavar="FILE", help="the file to write, or - for stdout")

    def handle(self, *args, tenant, source, target, types, object_id, include_volatile, format, output, **options):
        tenant = tenant_named(tenant)
        report = tenant_compare(tenant=tenant, source=_point(source, "--from"),
                                target=PRODUCTION if target.strip().lower() == PRODUCTION else _point(target, "--to"),
                                types=_types(types), object_id=object_id, include_volatile=include_volatile)
        data = report_json(report) if format == "json" else _csv_bytes(report)
        _write(output, data)
        record("export.compare", target=output, tenant=tenant,
               detail={"from": str(report.source), "to": str(report.target), "format": format,
                       "objects": len(report.changes)})
        counts = report.counts()
        summary = ", ".join(f"{t} " + " ".join(f"{k} {n}" for k, n in c.items() if n) for t, c in counts.items())
        (self.stderr if output == "-" else self.stdout).write(
            f"{len(report.changes)} objects differ from {report.source} to {report.target}"
            f"{': ' + summary if summary else ''}." + ("" if output == "-" else f" Written to {output}."))


def _point(text: str, flag: str):
    try:
        return point_spec_parse(text)
    except ValidationError as exc:
        raise CommandError(f"{flag}: {exc.messages[0]}") from None


def _types(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in objecttypes.BY_NAME]
    if unknown:
        raise CommandError(f"--types: unknown object type {unknown[0][:40]!r}; known: {', '.join(objecttypes.NAMES)}.")
    return names


def _csv_bytes(report) -> bytes:
    text = io.StringIO()
    report_csv(report, text)
    return text.getvalue().encode()


def _write(output: str, data: bytes) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed into place."""
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = Path(output).absolute()
    if path.is_dir():
        raise CommandError(f"--output: {path} is a folder; name a file.")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise CommandError(f"--output: cannot write {path}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CommandError(f"--output: cannot write {path}: {exc.strerror}.") from None
