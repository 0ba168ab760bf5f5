from entrabackup.management.base import ProductCommand
from tenants.models import Tenant
from tenants.services import credential_expiry_warning


class Command(ProductCommand):
    help = "List registered tenants: name, tenant ID, cloud, credential and its expiry, last connection test."

    def handle(self, *args, **options):
        tenants = list(Tenant.objects.order_by("name"))
        if not tenants:
            self.stdout.write("No tenant is registered. Add one with: manage.py tenant_add --help")
            return
        rows = [("NAME", "TENANT ID", "CLOUD", "CREDENTIAL", "EXPIRES", "CONNECTION")]
        for t in tenants:
            expires = f"{t.credential_expires_at:%Y-%m-%d}" if t.credential_expires_at else "-"
            rows.append((t.name + ("" if t.enabled else " (disabled)"), t.directory_id, t.cloud, t.credential_type,
                         expires, t.check_status))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
        for t in tenants:
            warning = credential_expiry_warning(t)
            if warning:
                self.stderr.write(f"warning: {t.name}: {warning}")
