import json

from entrabackup.management.base import ProductCommand
from repositories.models import LogRepository, Repository


def rows() -> list[dict]:
    """Entra ID backup repositories, then log repositories, as plain values."""
    found = [{"kind": "entra", "name": r.name, "type": r.kind, "location": r.location, "enabled": r.enabled,
              "size_bytes": r.size_bytes, "checked_at": r.checked_at and r.checked_at.isoformat(),
              "check": r.check_error or ("ok" if r.checked_at else "never checked")}
             for r in Repository.objects.order_by("name")]
    found += [{"kind": "log", "name": r.name, "type": r.kind, "location": r.location, "enabled": r.enabled,
               "size_bytes": r.usage_bytes, "checked_at": r.checked_at and r.checked_at.isoformat(),
               "retention_days": r.retention_days, "encryption": r.encryption,
               "check": ("ok" if r.check_ok else "failed") if r.checked_at else "never checked"}
              for r in LogRepository.objects.order_by("name")]
    return found


class Command(ProductCommand):
    help = "List the Entra ID backup repositories and the log repositories (--format json for scripts)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, format, **options):
        found = rows()
        if format == "json":
            self.stdout.write(json.dumps(found, indent=2))
            return
        if not found:
            self.stdout.write("No repository yet (the local one is created with the first job).")
            return
        table = [("KIND", "NAME", "WHERE", "STATE", "CHECK")]
        table += [(r["kind"], r["name"], r["location"], "enabled" if r["enabled"] else "disabled", r["check"][:60])
                  for r in found]
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
