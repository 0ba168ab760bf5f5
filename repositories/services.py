"""Adding, checking and opening Entra ID backup repositories."""

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg.conninfo import make_conninfo

from entrabackup import localdb, vault
from repositories.errors import (
    RepositoryError,
    RepositoryLookupError,
    RepositoryMisconfiguredError,
    RepositoryUnavailableError,
    TenantBusyError,
)
from repositories.models import Repository
from repositories.store import (
    RepositoryStore,
    SchemaError,
    StoreAccessError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
    TenantLockedError,
)

logger = logging.getLogger(__name__)

DEFAULT_NAME = "Local repository"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# The store's errors, and how the product names them. The first matching class wins (subclasses first).
_TRANSLATIONS = [
    (StoreUnavailableError, RepositoryUnavailableError, "is unreachable"),
    (StoreAccessError, RepositoryMisconfiguredError, "refused the connection"),
    (SchemaError, RepositoryMisconfiguredError, "has a schema this version cannot use"),
    (TenantLockedError, TenantBusyError, "is busy"),
    (StoreNotFoundError, RepositoryLookupError, ""),
    (StoreError, RepositoryError, "failed"),
]


@contextmanager
def repository_store(repository: Repository) -> Iterator[RepositoryStore]:
    """An open RepositoryStore for the repository, closed on exit.

    This is where the store's errors become the product's: inside the block, a StoreError is raised as the
    matching RepositoryError subclass ("Repository X is unreachable: <reason>").
    """
    try:
        conninfo = repository_conninfo(repository)
    except localdb.LocalDatabaseError as exc:
        raise RepositoryUnavailableError(f"Repository {repository.name} is unreachable: {exc}") from exc
    except vault.VaultError as exc:
        raise RepositoryMisconfiguredError(f"Repository {repository.name}: its password cannot be opened: {exc}") from exc
    try:
        with RepositoryStore(conninfo) as store:
            yield store
    except StoreError as exc:
        raise repository_error(repository, exc) from exc


def repository_error(repository: Repository, exc: StoreError) -> RepositoryError:
    """The product's error for a store error met while using `repository`."""
    cls, verb = next((cls, verb) for store_cls, cls, verb in _TRANSLATIONS if isinstance(exc, store_cls))
    return cls(f"Repository {repository.name}{' ' + verb if verb else ''}: {exc}")


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
    with repository_store(repository) as store:
        applied = store.migrate()
        report = store.check()
    if not report.get("can_write"):
        raise RepositoryMisconfiguredError(f"Repository {repository.name}: the user cannot create or write tables.")
    _record_check(repository, report)
    if applied:
        logger.info("Repository %s: schema migrations %s applied", repository.name, applied)
    return repository


def repository_check(repository: Repository) -> dict:
    """Check a registered repository and record the result (the error text when it is unavailable)."""
    try:
        repository_prepare(repository)
    except RepositoryError as exc:
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
