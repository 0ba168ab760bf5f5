from django.core.management.base import CommandError

from tenants import lifecycle, services
from tenants.errors import TenantError
from tenants.management.commands.tenant_add import Command as TenantAddCommand
from tenants.selectors import tenant_named


class Command(TenantAddCommand):
    """tenant_add's credential options reused: a replaced credential is read, sealed and bound the same way."""

    domain_errors = (TenantError,)
    help = (
        "Change a tenant: its name, features, whether its jobs are scheduled, or its credential (read from a file "
        "or standard input, sealed for the tenant's current connection). Example: manage.py tenant_update "
        "--tenant Contoso --features directory_backup,log_backup --client-secret-file - < new-secret.txt"
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant name (or its id in entrabackup)")
        parser.add_argument("--name", help="a new name")
        parser.add_argument("--features", help=f"comma-separated, of {','.join(services.ALL_FEATURES)}")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", action="store_true", help="schedule its jobs again")
        state.add_argument("--disable", action="store_true", help="schedule none of its jobs (backups are kept)")
        cred = parser.add_mutually_exclusive_group()
        cred.add_argument("--client-secret-file", "--secret-file", dest="client_secret_file", metavar="F",
                          help="replace the credential: a client secret ('-' = stdin)")
        cred.add_argument("--certificate-file", metavar="F", help="replace the credential: PEM (key + certificate) or PFX")
        cred.add_argument("--generate-certificate", action="store_true", help="replace the credential: a new certificate")
        parser.add_argument("--certificate-password-file", metavar="F", help="file holding the PFX/key password")
        parser.add_argument("--certificate-out", metavar="F", help="with --generate-certificate: write the public part here")
        parser.add_argument("--secret-expires", metavar="YYYY-MM-DD", help="expiry date of the new client secret")

    def handle(self, *args, **opts):
        tenant = tenant_named(opts["tenant"])
        features = None if opts["features"] is None else [f for f in opts["features"].split(",") if f]
        enabled = True if opts["enable"] else False if opts["disable"] else None
        replacing = opts["client_secret_file"] or opts["certificate_file"] or opts["generate_certificate"]
        if opts["name"] is None and features is None and enabled is None and not replacing:
            raise CommandError("Nothing to change: give --name, --features, --enable/--disable or a credential.")
        expires = self._expiry(opts["secret_expires"])
        credential, generated = self._credential({**opts, "name": tenant.name}) if replacing else (None, None)
        lifecycle.tenant_update(tenant=tenant, name=opts["name"], features=features, enabled=enabled)
        if credential is not None:
            services.tenant_set_credential(tenant=tenant, credential=credential, secret_expires_at=expires)
            self.stdout.write("Credential replaced; test it with: manage.py tenant_test --tenant " + tenant.name)
        self.stdout.write(f"Tenant '{tenant.name}' updated: features {','.join(tenant.features)}, "
                          f"{'enabled' if tenant.enabled else 'disabled'}.")
        if generated:
            self._show_certificate(generated, opts["certificate_out"])
