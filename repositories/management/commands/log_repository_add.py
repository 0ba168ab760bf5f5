from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.services import log_repository_add

MAX_SECRET_FILE = 64 * 1024


def read_secret_file(path: str, what: str) -> str:
    """The first line of a secret file (so secrets never appear on a command line or in shell history)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_SECRET_FILE)
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the {what} file {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    value = text.splitlines()[0] if text.strip() else ""
    if not value:
        raise CommandError(f"The {what} file {path} is empty.")
    return value


class Command(ProductCommand):
    domain_errors = (RepositoryError,)

    help = ("Add a log backup repository: a directory (inside ENTRABACKUP_LOG_REPOSITORY_ROOTS) or an S3 bucket. "
            "It is checked first (writable, free space, credentials); nothing is saved when that fails. A lost "
            "encryption password cannot be recovered: the chunks it encrypts cannot be read without it.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=["directory", "s3"])
        parser.add_argument("--path", default="", help="directory kind")
        parser.add_argument("--endpoint", default="", help="S3 endpoint URL (https://...)")
        parser.add_argument("--bucket", default="")
        parser.add_argument("--prefix", default="")
        parser.add_argument("--region", default="")
        parser.add_argument("--access-key-id", default="")
        parser.add_argument("--secret-access-key-file", default=None, help="file holding the secret access key")
        parser.add_argument("--path-style", action="store_true", help="path-style bucket addressing")
        parser.add_argument("--object-lock-days", type=int, default=None,
                            help="write chunks in COMPLIANCE object lock mode for this many days")
        parser.add_argument("--retention-days", type=int, required=True)
        parser.add_argument("--encryption-password-file", default=None,
                            help="file holding the encryption password (a lost password cannot be recovered)")
        parser.add_argument("--password-hint", default="")

    def handle(self, *args, **options):
        if options["kind"] == "directory" and not options["path"]:
            raise CommandError("--kind directory needs --path.")
        if options["kind"] == "s3" and not (options["bucket"] and options["access_key_id"]
                                            and options["secret_access_key_file"]):
            raise CommandError("--kind s3 needs --bucket, --access-key-id and --secret-access-key-file.")
        if options["password_hint"] and not options["encryption_password_file"]:
            raise CommandError("--password-hint goes with --encryption-password-file.")
        secret = read_secret_file(options["secret_access_key_file"], "secret access key") if options["kind"] == "s3" else ""
        password = (read_secret_file(options["encryption_password_file"], "encryption password")
                    if options["encryption_password_file"] else None)
        repository = log_repository_add(
            name=options["name"], kind=options["kind"], path=options["path"], endpoint_url=options["endpoint"],
            bucket=options["bucket"], prefix=options["prefix"], region=options["region"],
            access_key_id=options["access_key_id"], secret_access_key=secret, path_style=options["path_style"],
            object_lock_days=options["object_lock_days"], retention_days=options["retention_days"],
            password=password, password_hint=options["password_hint"])
        self.stdout.write(f"Log repository {repository.name} added: {repository.location} "
                          f"(encryption {repository.encryption}, retention {repository.retention_days} days).")
        if password:
            self.stdout.write("Keep the password safe: a lost password cannot be recovered, and without it "
                              "the log chunks cannot be read.")


