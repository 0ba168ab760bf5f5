import os
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

from audittrail import selectors
from audittrail.exports import FORMATS, Export
from audittrail.timerange import TimeBoundError, check_range, parse_bound
from audittrail.trail import record
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    help = ("Export the audit trail entries from --from up to --to (ISO 8601; a date alone as --to includes that "
            "whole day) as JSON or CSV into --output. The export keeps each entry's hash, so a copy can be "
            "checked later; the export itself is recorded in the trail.")
    domain_errors = (TimeBoundError,)

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, metavar="ISO")
        parser.add_argument("--to", dest="stop", required=True, metavar="ISO")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--output", required=True, metavar="FILE", help="The file to write ('-': stdout)")

    def handle(self, *args, start, stop, format, output, **options):
        start, stop = parse_bound(start), parse_bound(stop, end=True)
        check_range(start, stop)
        export = Export(selectors.entries_matching(selectors.EntryFilter(start=start, stop=stop)), format)
        if output == "-":
            for chunk in export.chunks():
                self.stdout.write(chunk, ending="")
        else:
            _write_atomically(Path(output), export)
        record("export.audit_trail", target=output, detail={"from": start.isoformat(), "to": stop.isoformat(),
                                                            "format": format, "entries": export.count})
        if output != "-":
            self.stderr.write(f"{export.count} entries written to {output}.")


def _write_atomically(path: Path, export: Export) -> None:
    """Write next to `path` and rename: a failed export never leaves half a file under the name asked for."""
    folder = path.parent
    if path.is_dir():
        raise CommandError(f"--output {path} is a directory: name a file.")
    if not folder.is_dir():
        raise CommandError(f"--output: the folder {folder} does not exist.")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise CommandError(f"--output: cannot write in {folder}: {exc.strerror}.") from None
    try:
        with open(handle, "w", encoding="utf-8", newline="") as stream:
            for chunk in export.chunks():
                stream.write(chunk)
        os.replace(temporary, path)
    except OSError as exc:
        raise CommandError(f"--output: cannot write {path}: {exc.strerror}.") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
