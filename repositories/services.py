"""Adding, checking and opening Entra ID backup repositories."""

import hashlib
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg.conninfo import make_conninfo

from entrabackup import localdb, vault
from repositories.errors import RepositoryError, RepositoryUnavailableError
from repositories.models import Repository

logger = logging.getLogger(__name__)

DEFAULT_NAME = "Local repository"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def repository_store(repository: Repository):
    """An open RepositoryStore for the repository (the caller closes it, or uses `with`)."""
    from repositories.store import RepositoryStore

    return RepositoryStore(repository_conninfo(repository))


def repository_conninfo(repository: Repository) -> str:
    """How to reach the repository's database. A local one starts the project's PostgreSQL when needed."""
    if repository.kind == Repository.Kind.LOCAL:
        server = localdb.ensure_running(settings.LOCALDB_PGDATA)
        localdb.ensure_database(server, repository.database)
        return server.conninfo(repository.database)
    options = {"sslmode": repository.sslmode, "connect_timeout": 10, "application_name": "entrabackup"}
    if repository.ssl_root_cert_pem:
        options["sslrootcert"] = _root_cert_file(repository.ssl_root_cert_pem)
    password = ""
    if repository.sealed_password:
        password = vault.unseal(repository.sealed_password, purpose=vault.purpose_of(Repository, "sealed_password"))
    return make_conninfo(host=repository.host, port=repository.port or 5432, dbname=repository.database,
                         user=repository.user, password=password, **options)


@transaction.atomic
def repository_add(*, name: str, kind: str = Repository.Kind.LOCAL, database: str, host: str = "",
                   port: int | None = None, user: str = "", password: str = "", sslmode: str = "verify-full",
                   ssl_root_cert_pem: str = "") -> Repository:
    """Register a repository after checking it and preparing its schema; nothing is saved if that fails."""
    if Repository.objects.filter(name__iexact=name.strip()).exists():
        raise RepositoryError(f"A repository named {name!r} exists already.")
    repository = Repository(name=name.strip(), kind=kind, database=database.strip(), host=host.strip(), port=port,
                            user=user.strip(), sslmode=sslmode, ssl_root_cert_pem=ssl_root_cert_pem)
    _validate(repository)
    if password:
        repository.sealed_password = vault.seal(password, purpose=vault.purpose_of(Repository, "sealed_password"))
    repository_prepare(repository)
    repository.save()
    logger.info("Repository %s added (%s)", repository.name, repository.location)
    return repository


def repository_prepare(repository: Repository) -> Repository:
    """Check the database (reachable, version, write permission) and apply pending schema migrations."""
    try:
        with repository_store(repository) as store:
            applied = store.migrate()
            report = store.check()
    except RepositoryUnavailableError:
        raise
    except Exception as exc:  # the store raises StoreError with a clear text; psycopg errors are wrapped there
        raise RepositoryUnavailableError(f"Repository {repository.name}: {exc}") from exc
    if not report.get("can_write"):
        raise RepositoryUnavailableError(f"Repository {repository.name}: the user cannot create or write tables.")
    _record_check(repository, report)
    if applied:
        logger.info("Repository %s: schema migrations %s applied", repository.name, applied)
    return repository


def repository_check(repository: Repository) -> dict:
    """Check a registered repository and record the result (the error text when it is unavailable)."""
    try:
        repository_prepare(repository)
    except RepositoryUnavailableError as exc:
        repository.check_error, repository.checked_at = str(exc), timezone.now()
        repository.save(update_fields=["check_error", "checked_at"])
        return {"ok": False, "error": str(exc)}
    repository.save()
    return {"ok": True, "schema_version": repository.schema_version, "server_version": repository.server_version}


def repository_default() -> Repository:
    """The local repository every installation starts with, created and prepared on first use."""
    existing = Repository.objects.filter(name=DEFAULT_NAME).first()
    if existing is not None:
        return existing
    return repository_add(name=DEFAULT_NAME, kind=Repository.Kind.LOCAL, database=settings.REPOSITORY_DEFAULT_DATABASE)


def repository_tenant_purge(*, repository: Repository, tenant) -> dict:
    """Remove every restore point and version of `tenant` from the repository."""
    with repository_store(repository) as store:
        return store.tenant_purge(str(tenant.key))


def _record_check(repository: Repository, report: dict) -> None:
    repository.schema_version = report.get("schema_version")
    repository.server_version = str(report.get("server_version", ""))[:40]
    repository.size_bytes = report.get("database_size_bytes")
    repository.checked_at, repository.check_error = timezone.now(), ""


def _validate(repository: Repository) -> None:
    if repository.kind not in Repository.Kind.values:
        raise RepositoryError(f"Unknown repository kind {repository.kind!r}.")
    if repository.kind == Repository.Kind.LOCAL and not _DB_NAME.match(repository.database):
        raise RepositoryError("A local repository's database name uses lower-case letters, digits and _ (max 63).")
    if repository.kind == Repository.Kind.REMOTE and not (repository.host and repository.database and repository.user):
        raise RepositoryError("A remote repository needs a host, a database and a user.")


def _root_cert_file(pem: str) -> str:
    path = settings.VAR_DIR / "ca" / f"pg-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pem)
    return str(path)
