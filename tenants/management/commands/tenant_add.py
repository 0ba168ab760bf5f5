import sys
from datetime import datetime, time
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from entrabackup import graph
from entrabackup.management.base import ProductCommand
from tenants import services
from tenants.errors import TenantError
from tenants.models import Tenant


def _read_secret_file(path: str) -> bytes:
    """A secret from a file, or from standard input when the path is '-' (never from the command line)."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from None


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise CommandError(f"The {what} file is not UTF-8 text.") from None


class Command(ProductCommand):
    domain_errors = (TenantError,)
    help = (
        "Register a tenant. Secrets are read from a file or from standard input ('-'), never from the "
        "command line. Example: manage.py tenant_add --name Contoso --tenant-id contoso.onmicrosoft.com "
        "--client-id 11111111-2222-3333-4444-555555555555 --client-secret-file - < secret.txt"
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="a name for the tenant in entrabackup")
        parser.add_argument("--tenant-id", required=True, help="directory (tenant) ID or a verified domain")
        parser.add_argument("--client-id", required=True, help="application (client) ID of the app registration")
        cred = parser.add_mutually_exclusive_group(required=True)
        cred.add_argument("--client-secret-file", metavar="F", help="file holding the client secret's value ('-' = stdin)")
        cred.add_argument("--certificate-file", metavar="F", help="PEM (key + certificate) or PFX file")
        cred.add_argument("--generate-certificate", action="store_true",
                          help="generate a self-signed certificate; its public part is printed (or written with --certificate-out)")
        parser.add_argument("--certificate-password-file", metavar="F", help="file holding the PFX/key password ('-' = stdin)")
        parser.add_argument("--certificate-out", metavar="F", help="with --generate-certificate: write the public certificate here")
        parser.add_argument("--secret-expires", metavar="YYYY-MM-DD", help="expiry date of the client secret (we warn before it)")
        parser.add_argument("--cloud", default="global", choices=Tenant.Cloud.values)
        parser.add_argument("--authority-url", default="", help="custom cloud: https://login.example.org")
        parser.add_argument("--graph-url", default="", help="custom cloud: https://graph.example.org")
        parser.add_argument("--ca-bundle", metavar="FILE", help="custom cloud: PEM certificates to trust")
        parser.add_argument("--features", default="", help=f"comma-separated, of {','.join(services.ALL_FEATURES)}; default "
                                                            f"{','.join(services.DEFAULT_FEATURES)} (restore needs write permissions)")

    def handle(self, *args, **opts):
        credential, generated = self._credential(opts)
        tenant = services.tenant_create(
            name=opts["name"], directory_id=opts["tenant_id"], client_id=opts["client_id"],
            credential=credential, cloud=opts["cloud"], authority_url=opts["authority_url"],
            graph_url=opts["graph_url"], ca_bundle_pem=self._ca_bundle(opts["ca_bundle"]),
            features=[f for f in opts["features"].split(",") if f] or None,
            secret_expires_at=self._expiry(opts["secret_expires"]),
        )
        self.stdout.write(f"Tenant '{tenant.name}' registered (id {tenant.pk}). Check it with: manage.py tenant_test --tenant {tenant.name}")
        if generated:
            self._show_certificate(generated, opts["certificate_out"])

    def _credential(self, opts):
        if opts["client_secret_file"]:
            text = _text(_read_secret_file(opts["client_secret_file"]), "client secret").strip()
            if not text:
                raise CommandError("The client secret file is empty.")
            return graph.ClientSecret(text), None
        if opts["generate_certificate"]:
            generated = services.tenant_generate_certificate(tenant_name=opts["name"])
            return generated.credential(), generated
        password = None
        if opts["certificate_password_file"]:
            password = _text(_read_secret_file(opts["certificate_password_file"]), "password").rstrip("\r\n")
        return services.certificate_from_upload(_read_secret_file(opts["certificate_file"]), password), None

    def _ca_bundle(self, path):
        try:
            return Path(path).read_text() if path else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the CA bundle {path}: {getattr(exc, 'strerror', None) or exc}") from None

    def _expiry(self, text):
        if not text:
            return None
        try:
            return timezone.make_aware(datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time.max))
        except ValueError:
            raise CommandError(f"--secret-expires must be a date as YYYY-MM-DD (got {text!r}).") from None

    def _show_certificate(self, generated, out):
        if out:
            try:
                Path(out).write_text(generated.certificate_pem)
                self.stdout.write(f"Public certificate written to {out}.")
            except OSError as exc:
                self.stderr.write(f"Cannot write {out} ({exc.strerror}); here is the public certificate instead.")
                out = None
        if not out:
            self.stdout.write(generated.certificate_pem)
        self.stdout.write(
            f"Thumbprint {generated.thumbprint_sha1}, valid until {generated.not_after:%Y-%m-%d}. Upload it under "
            "Entra admin center > App registrations > (the app) > Certificates & secrets > Certificates."
        )
