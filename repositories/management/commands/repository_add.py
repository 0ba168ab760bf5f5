from pathlib import Path

from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.management.commands.log_repository_add import read_secret_file
from repositories.models import Repository
from repositories.services import repository_add


class Command(ProductCommand):
    domain_errors = (RepositoryError,)
    help = ("Add an Entra ID backup repository: a database on the local PostgreSQL, or a remote PostgreSQL "
            "(SCRAM, TLS that verifies the server). It is checked and its schema prepared first; nothing is saved "
            "when that fails. The password is read from a file, sealed at rest and never shown again.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=Repository.Kind.values, default=Repository.Kind.LOCAL)
        parser.add_argument("--database", required=True, help="database name (a local one is created)")
        parser.add_argument("--host", default="", help="remote: a host name, an IP address or a Unix socket directory")
        parser.add_argument("--port", type=int, default=None, help="remote (default 5432)")
        parser.add_argument("--user", default="", help="remote: needs to create tables in that database")
        parser.add_argument("--password-file", default=None, help="remote: file holding the password")
        parser.add_argument("--sslmode", choices=Repository.SslMode.values, default=Repository.SslMode.VERIFY_FULL)
        parser.add_argument("--ca-file", default=None, help="remote: PEM of the CA that signed the server's certificate")

    def handle(self, *args, **opts):
        password = read_secret_file(opts["password_file"], "password") if opts["password_file"] else ""
        repository = repository_add(
            name=opts["name"], kind=opts["kind"], database=opts["database"], host=opts["host"], port=opts["port"],
            user=opts["user"], password=password, sslmode=opts["sslmode"], ssl_root_cert_pem=self._ca(opts["ca_file"]))
        self.stdout.write(f"Repository '{repository.name}' added ({repository.location}, schema "
                          f"{repository.schema_version}).")

    def _ca(self, path: str | None) -> str:
        try:
            return Path(path).read_text()[:256 * 1024] if path else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the CA file {path}: {getattr(exc, 'strerror', None) or exc}") from None
