from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from tenants import services
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (TenantError,)

    help = (
        "Test a tenant's connection: get a token, compare the granted application permissions with what "
        "each feature needs, check the sign-in log licence. Exit status 0 only when everything needed is "
        "granted and reachable; 1 otherwise, with what is missing and how to grant it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant name (or its id in entrabackup)")
        parser.add_argument("--features", default="", help=f"comma-separated, default the tenant's: {','.join(services.ALL_FEATURES)}")

    def handle(self, *args, tenant, features, **options):
        found = tenant_named(tenant)
        report = services.tenant_check(tenant=found, features=[f for f in features.split(",") if f] or None)
        self.stdout.write(f"Tenant:      {found.name} ({found.directory_id})")
        if report.get("organization"):
            self.stdout.write(f"Organization: {report['organization']['displayName']} ({report['organization']['id']})")
        self.stdout.write(f"Granted:     {', '.join(report['granted']) or '-'}")
        for feature, missing in report["missing"].items():
            self.stdout.write(f"Missing for {feature}: {', '.join(missing)}")
        self.stdout.write(f"Licence:     {report['licence']}")
        warning = services.credential_expiry_warning(found)
        if warning:
            self.stdout.write(f"Warning:     {warning}")
        if not report["ok"]:
            raise CommandError(report["summary"])
        self.stdout.write(self.style.SUCCESS(report["summary"]))
