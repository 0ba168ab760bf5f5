"""Adding, checking and opening Entra ID backup repositories."""

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
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
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[?[0-9A-Fa-f:.]+\]?)$")  # one name or IP address
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_SYSTEM_DATABASES = {"postgres", "template0", "template1"}
_DEFAULT_SOCKET_DIR = "/var/run/postgresql"
_PURPOSE = vault.purpose_of(Repository, "sealed_password")
# A vanished peer (a proxy host, a NAT, a failed-over server) is noticed after about 30 + 3 * 10 seconds,
# not after the kernel's two hours, so a tenant's lock held over this connection is released.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
# The same on the server's end of the connection. A tenant's lock is held by the server for the session
# that took it: when the proxy's host vanishes, only the server's own keepalives (and the TCP user timeout
# for unacknowledged writes) end that session and release the lock, in about a minute instead of the
# operating system's default of two hours. Any user may set these parameters.
SERVER_KEEPALIVES = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3,
                     "tcp_user_timeout": 60_000}


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


@sensitive_variables("password")
def repository_conninfo(repository: Repository, *, password: str | None = None) -> str:
    """How to reach the repository's database. A local one starts the project's PostgreSQL when needed.

    A remote one: SCRAM only when a password is sent (a server asking for it in clear gets nothing), TLS
    that verifies the server over TCP, TCP keepalives so a vanished peer is noticed within about a minute,
    and no ~/.pgpass. Its password opens only for the server it was entered for (see the model's binding);
    `password` (for a check before anything is saved) is used instead of the sealed one.
    """
    if repository.kind == Repository.Kind.LOCAL:
        server = localdb.ensure_running(settings.LOCALDB_PGDATA)
        localdb.ensure_database(server, repository.database)
        return server.conninfo(repository.database)
    if password is None:
        password = _unsealed_password(repository)
    try:
        _validate_remote(repository, has_password=bool(password))
    except RepositoryError as exc:
        raise RepositoryMisconfiguredError(f"Repository {repository.name}: {exc}") from None
    return make_conninfo(host=repository.host, port=repository.port or 5432, dbname=repository.database,
                         user=repository.user, password=password, **_remote_options(repository, bool(password)))


def _remote_options(repository: Repository, has_password: bool) -> dict:
    options = {"sslmode": repository.sslmode, "connect_timeout": 10, "application_name": "entrabackup",
               "passfile": os.devnull, **KEEPALIVES}
    if _is_socket(repository.host):
        # A local socket may trust or peer-authenticate (nothing is sent); anything else must be SCRAM.
        options["require_auth"] = "scram-sha-256,none" if has_password else "none"
    else:
        options["require_auth"] = "scram-sha-256"
        options["options"] = " ".join(f"-c {name}={value}" for name, value in SERVER_KEEPALIVES.items())
        # Without a CA certificate of its own, verify-full trusts the system's CAs (libpq 16+).
        options["sslrootcert"] = _root_cert_file(repository.ssl_root_cert_pem) if repository.ssl_root_cert_pem else "system"
    return options


@sensitive_variables("password")
def _unsealed_password(repository: Repository) -> str:
    if not repository.sealed_password:
        return ""
    try:
        return vault.unseal(repository.sealed_password, purpose=_PURPOSE, binding=repository.vault_binding())
    except vault.VaultError as exc:
        raise RepositoryMisconfiguredError(
            f"Repository {repository.name}: its password does not open for this server, database and user; it was "
            f"sealed for another server or another repository, or its key is missing ({exc}) Enter the "
            "connection and the password again on the Repositories page."
        ) from None


@transaction.atomic
@sensitive_variables("password")
def repository_add(*, name: str, kind: str = Repository.Kind.LOCAL, database: str, host: str = "",
                   port: int | None = None, user: str = "", password: str = "",
                   sslmode: str = Repository.SslMode.VERIFY_FULL, ssl_root_cert_pem: str = "") -> Repository:
    """Register a repository after checking it and preparing its schema; nothing is saved if that fails."""
    if Repository.objects.filter(name__iexact=name.strip()).exists():
        raise RepositoryError(f"A repository named {name!r} exists already.")
    repository = Repository(name=name.strip(), kind=kind)
    _set_endpoint(repository, database=database, host=host, port=port, user=user, password=password,
                  sslmode=sslmode, ssl_root_cert_pem=ssl_root_cert_pem)
    repository_prepare(repository)
    repository.save()
    logger.info("Repository %s added (%s)", repository.name, repository.location)
    return repository


@transaction.atomic
@sensitive_variables("password")
def repository_set_connection(*, repository: Repository, host: str, port: int | None, user: str, database: str,
                              sslmode: str, password: str, ssl_root_cert_pem: str = "") -> Repository:
    """Point the repository at another server, port, database, user or TLS setting.

    Only together with its password entered again (a remote repository over TCP needs one): the password
    is sealed for the new endpoint, so nobody can send the stored one elsewhere. The new database is
    checked and prepared first; nothing changes when that fails.
    """
    candidate = Repository.objects.select_for_update().get(pk=repository.pk)
    _set_endpoint(candidate, database=database, host=host, port=port, user=user, password=password,
                  sslmode=sslmode, ssl_root_cert_pem=ssl_root_cert_pem)
    repository_prepare(candidate)
    candidate.save()
    logger.info("Repository %s re-pointed to %s", candidate.name, candidate.location)
    repository.refresh_from_db()
    return repository


@sensitive_variables("password")
def _set_endpoint(repository: Repository, *, database: str, host: str, port: int | None, user: str, password: str,
                  sslmode: str, ssl_root_cert_pem: str) -> None:
    """Validate and set the endpoint fields, then seal the password for exactly that endpoint."""
    repository.database, repository.host, repository.port = database.strip(), host.strip(), port
    repository.user, repository.sslmode, repository.ssl_root_cert_pem = user.strip(), sslmode, ssl_root_cert_pem
    if repository.kind == Repository.Kind.LOCAL:
        repository.host, repository.port, repository.user, password = "", None, "", ""
    _validate(repository)
    if repository.kind == Repository.Kind.REMOTE:
        _validate_remote(repository, has_password=bool(password))
    _refuse_shared_database(repository)
    repository.sealed_password = ""
    if password:
        repository.sealed_password = vault.seal(password, purpose=_PURPOSE, binding=repository.vault_binding())


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
    existing = (Repository.objects.filter(name=DEFAULT_NAME).first()  # or the same database renamed
                or Repository.objects.filter(kind=Repository.Kind.LOCAL, database=settings.REPOSITORY_DEFAULT_DATABASE).first())
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


def _validate_remote(repository: Repository, *, has_password: bool) -> None:
    """The rules a remote endpoint follows; the same ones when it is added, changed and opened."""
    host, sslmode = repository.host, repository.sslmode
    for label, value in (("database", repository.database), ("user", repository.user)):
        if len(value) > 63 or any(ord(char) < 32 for char in value):
            raise RepositoryError(f"The {label} name must be at most 63 printable characters.")
    if _is_socket(host):
        if "," in host or any(ord(char) < 32 for char in host):
            raise RepositoryError("Give one host: a name, an IP address, or one Unix socket directory (starting with /).")
    elif not _HOST.match(host):
        raise RepositoryError("Give one host: a name, an IP address, or one Unix socket directory (starting with /).")
    if repository.port is not None and not 1 <= repository.port <= 65535:
        raise RepositoryError("The port must be between 1 and 65535.")
    if sslmode not in Repository.SslMode.values:
        raise RepositoryError(
            f"TLS mode {sslmode!r} is not allowed: choose verify-ca or verify-full (disable only for a Unix socket)."
        )
    if _is_socket(host):
        return
    if sslmode not in (Repository.SslMode.VERIFY_CA, Repository.SslMode.VERIFY_FULL):
        raise RepositoryError(
            "Over TCP a repository needs TLS that verifies the server: choose verify-ca or verify-full "
            "(disable is only for a Unix socket directory, a host starting with /)."
        )
    if sslmode == Repository.SslMode.VERIFY_CA and not repository.ssl_root_cert_pem:
        raise RepositoryError("verify-ca needs the CA certificate that signed the server's certificate.")
    if not has_password:
        raise RepositoryError("A remote repository over TCP needs a password (it is sent by SCRAM only).")


def _refuse_shared_database(repository: Repository) -> None:
    """A repository never lives in the configuration database, PostgreSQL's own, or another repository's."""
    if repository.kind == Repository.Kind.LOCAL and repository.database in _SYSTEM_DATABASES:
        raise RepositoryError(f"'{repository.database}' is PostgreSQL's own database: choose another name.")
    address = _address(repository.kind, repository.host, repository.port, repository.database)
    if address in _configuration_addresses():
        raise RepositoryError(
            f"'{repository.database}' is entrabackup's configuration database: a repository needs a database of its own."
        )
    for other in Repository.objects.exclude(pk=repository.pk):
        if _address(other.kind, other.host, other.port, other.database) == address:
            raise RepositoryError(
                f"'{repository.database}' is already the database of repository '{other.name}': "
                "each repository needs a database of its own."
            )


def _configuration_addresses() -> set[tuple[str, int, str]]:
    config = settings.DATABASES["default"]
    host = config.get("HOST") or _DEFAULT_SOCKET_DIR
    addresses = {_address(Repository.Kind.REMOTE, host, int(config.get("PORT") or 5432), config["NAME"])}
    # The installation's own configuration database on the local server (also while tests run beside it).
    addresses.add(_address(Repository.Kind.LOCAL, "", None, settings.LOCALDB_NAME))
    return addresses


def _address(kind: str, host: str, port: int | None, database: str) -> tuple[str, int, str]:
    """Where a database is, normalised so two spellings of one place compare equal (as far as can be told)."""
    if kind == Repository.Kind.LOCAL:
        host, port = str(localdb.socket_dir_hint(settings.LOCALDB_PGDATA)), None
    if _is_socket(host):
        host = os.path.realpath(host)
    else:
        host = host.strip().lower().strip("[]")
        host = "localhost" if host in _LOOPBACK else host
    return host, port or 5432, database


def _is_socket(host: str) -> bool:
    return host.startswith("/")


def _root_cert_file(pem: str) -> str:
    path = settings.VAR_DIR / "ca" / f"pg-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pem)
    return str(path)


# Log backup repositories live in their own module; their services are reached through this one too.
from repositories.log_services import (  # noqa: E402, I001
    log_repositories_check_due as log_repositories_check_due,
    log_repository_add as log_repository_add,
    log_repository_allowed_path as log_repository_allowed_path,
    log_repository_backend as log_repository_backend,
    log_repository_change_password as log_repository_change_password,
    log_repository_check as log_repository_check,
    log_repository_default as log_repository_default,
    log_repository_error as log_repository_error,
    log_repository_open as log_repository_open,
    log_repository_prune as log_repository_prune,
    log_repository_translated as log_repository_translated,
)
