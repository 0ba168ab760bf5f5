"""Adding, checking and opening log backup repositories (directories and S3 buckets of log chunks).

The chunks themselves are the log store's (repositories.logstore); this module decides where a repository
may live, seals its secrets, and turns the store's errors into the product's in one place
(`log_repository_open`). Re-exported by repositories.services.
"""

import ipaddress
import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from entrabackup import vault
from repositories import logstore
from repositories.errors import (
    LogChainConflictError,
    LogChunkDamagedError,
    LogRepositoryPasswordError,
    RepositoryError,
    RepositoryLookupError,
    RepositoryMisconfiguredError,
    RepositoryUnavailableError,
)
from repositories.models import LogChainHead, LogRepository

logger = logging.getLogger(__name__)

LOG_DEFAULT_NAME = "Local log repository"
_SECRET_PURPOSE = vault.purpose_of(LogRepository, "sealed_secret_access_key")
_PASSWORD_PURPOSE = vault.purpose_of(LogRepository, "sealed_password")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$")
_REGION = re.compile(r"^[a-z0-9-]{0,40}$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

# The log store's errors and how the product names them; the first matching class wins (subclasses first).
_TRANSLATIONS = [
    (logstore.WrongPasswordError, LogRepositoryPasswordError, ""),
    (logstore.ChainConflictError, LogChainConflictError, "is being written by another session"),
    (logstore.ChunkDamagedError, LogChunkDamagedError, "holds a damaged chunk"),
    (logstore.BackendUnavailableError, RepositoryUnavailableError, "is unreachable"),
    (logstore.BackendRefusedError, RepositoryMisconfiguredError, "refuses"),
    (logstore.LogRepositoryLayoutError, RepositoryMisconfiguredError, "is not usable"),
    (logstore.ObjectNotFoundError, RepositoryLookupError, ""),
    (logstore.LogStoreError, RepositoryError, "failed"),
]


def log_repository_error(repository: LogRepository, exc: logstore.LogStoreError) -> RepositoryError:
    """The product's error for a log store error met while using `repository`."""
    cls, verb = next((cls, verb) for store_cls, cls, verb in _TRANSLATIONS if isinstance(exc, store_cls))
    return cls(f"Log repository {repository.name}{' ' + verb if verb else ''}: {exc}")


@contextmanager
def log_repository_translated(repository: LogRepository) -> Iterator[None]:
    """Inside the block, a LogStoreError is raised as the matching RepositoryError subclass."""
    try:
        yield
    except logstore.LogStoreError as exc:
        raise log_repository_error(repository, exc) from exc


@contextmanager
def log_repository_open(repository: LogRepository, *, password: str | None = None) -> Iterator[logstore.LogRepository]:
    """The opened log store of the repository; inside the block, log store errors are RepositoryErrors.

    The key is derived once, here, from the sealed password, or from `password` when one is given (an
    export with --password-file). Open it once per session and write every chunk through it: deriving the
    key costs about 0.4 s. Each chain's head is recorded in the configuration database (DatabaseChainHeads).
    """
    with log_repository_translated(repository):
        if password is None:
            password = _unsealed_password(repository)
        yield logstore.LogRepository(log_repository_backend(repository), password=password,
                                     heads=DatabaseChainHeads(repository))


class DatabaseChainHeads:
    """The heads of a log repository's chains, in LogChainHead rows (logstore.ChainHeads).

    `advance` is a conditional update from the head the writer started from: a second writer of the same
    chain (a proxy still writing after its session was marked interrupted, another backup server) finds
    the head moved and stops with ChainConflictError instead of forking the chain.
    """

    def __init__(self, repository: LogRepository):
        self.repository = repository

    def _rows(self):
        return LogChainHead.objects.filter(repository=self.repository)

    def get(self, tenant: str, log_type: str) -> logstore.Head | None:
        row = self._rows().filter(tenant=tenant, log_type=log_type).values_list("n", "manifest_hash").first()
        return logstore.Head(*row) if row else None

    def all(self) -> dict[tuple[str, str], logstore.Head]:
        return {(tenant, log_type): logstore.Head(n, digest) for tenant, log_type, n, digest in
                self._rows().values_list("tenant", "log_type", "n", "manifest_hash")}

    def advance(self, tenant: str, log_type: str, head: logstore.Head, *, previous: logstore.Head | None) -> None:
        if previous is None:
            try:
                with transaction.atomic():
                    LogChainHead.objects.create(repository=self.repository, tenant=tenant, log_type=log_type,
                                                n=head.n, manifest_hash=head.hash)
                return
            except IntegrityError:
                pass
        elif self._rows().filter(tenant=tenant, log_type=log_type, n=previous.n, manifest_hash=previous.hash).update(
                n=head.n, manifest_hash=head.hash, updated_at=timezone.now()):
            return
        if self.get(tenant, log_type) == head:  # a health check recorded this very manifest a moment before
            return
        raise logstore.ChainConflictError(f"The recorded head of {tenant}/{log_type} is no longer manifest "
                                          f"{previous.n if previous else 'none'}: another session writes this chain.")


def log_repository_backend(repository: LogRepository) -> logstore.Backend:
    """The storage backend of the repository, its S3 secret unsealed."""
    return logstore.open_backend(_spec(repository, secret_access_key=_unsealed(repository, "sealed_secret_access_key")))


def _spec(repository: LogRepository, *, secret_access_key: str = "") -> dict:
    if repository.kind == LogRepository.Kind.DIRECTORY:
        return {"kind": "directory", "path": repository.path}
    return {"kind": "s3", "endpoint_url": repository.endpoint_url or None, "bucket": repository.bucket,
            "prefix": repository.prefix, "region": repository.region or None,
            "access_key_id": repository.access_key_id, "secret_access_key": secret_access_key,
            "path_style": repository.path_style, "object_lock_days": repository.object_lock_days}


@sensitive_variables("value")
def _unsealed(repository: LogRepository, field: str) -> str | None:
    sealed = getattr(repository, field)
    if not sealed:
        return None
    purpose = _PASSWORD_PURPOSE if field == "sealed_password" else _SECRET_PURPOSE
    try:
        return vault.unseal(sealed, purpose=purpose, binding=repository.vault_binding())
    except vault.VaultError as exc:
        raise RepositoryMisconfiguredError(f"Log repository {repository.name}: its sealed secrets do not open "
                                           f"here ({exc})") from None


def _unsealed_password(repository: LogRepository) -> str | None:
    if repository.encryption == LogRepository.Encryption.NONE:
        return None
    return _unsealed(repository, "sealed_password")


# Adding

def log_repository_allowed_path(path: str) -> Path:
    """The resolved directory if it lies strictly inside one of ENTRABACKUP_LOG_REPOSITORY_ROOTS.

    Relative paths are taken inside the first root; `..` and symbolic links are resolved before the check.
    """
    roots = [Path(root).resolve() for root in settings.LOG_REPOSITORY_ROOTS]
    text = (path or "").strip()
    if not text or "\x00" in text:
        raise RepositoryMisconfiguredError("Give the directory of the log repository.")
    candidate = Path(text) if Path(text).is_absolute() else roots[0] / text
    resolved = candidate.resolve()
    if not any(resolved != root and resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise RepositoryMisconfiguredError(
            f"{text[:200]!r} is not inside an allowed directory for log repositories ({allowed}). An "
            "administrator can allow more with ENTRABACKUP_LOG_REPOSITORY_ROOTS.")
    return resolved


def _validate_s3(*, endpoint_url: str, bucket: str, prefix: str, region: str, access_key_id: str,
                 has_secret: bool) -> None:
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host or parts.username or parts.query or parts.fragment:
            raise RepositoryMisconfiguredError("The S3 endpoint must be a plain https:// URL.")
        if parts.scheme == "http" and not _is_loopback(host):
            raise RepositoryMisconfiguredError("The S3 endpoint must use https:// (plain http only on this machine).")
    if not _BUCKET.match(bucket or ""):
        raise RepositoryMisconfiguredError(f"{(bucket or '')[:80]!r} is not a valid bucket name.")
    if prefix and (not _PREFIX.match(prefix) or ".." in prefix.split("/")):
        raise RepositoryMisconfiguredError(f"{prefix[:80]!r} is not a valid prefix (names separated by /).")
    if not _REGION.match(region or ""):
        raise RepositoryMisconfiguredError(f"{region[:40]!r} is not a valid region.")
    if not access_key_id or not has_secret:
        raise RepositoryMisconfiguredError("An S3 log repository needs an access key id and a secret access key.")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in _LOOPBACK


@sensitive_variables("secret_access_key", "password")
def log_repository_add(*, name: str, kind: str, path: str = "", endpoint_url: str = "", bucket: str = "",
                       prefix: str = "", region: str = "", access_key_id: str = "", secret_access_key: str = "",
                       path_style: bool = False, object_lock_days: int | None = None, retention_days: int = 365,
                       password: str | None = None, password_hint: str = "") -> LogRepository:
    """Register a log repository after checking its storage: writable (a probe is written, read back and
    deleted), enough free space, credentials accepted, object lock enabled when asked.

    An empty target becomes a new repository; one that already holds a log repository is adopted when the
    password opens it. Nothing is saved, and nothing is left in the storage, when any of that fails.
    """
    repository = _new_row(name=name, kind=kind, path=path, endpoint_url=endpoint_url, bucket=bucket, prefix=prefix,
                          region=region, access_key_id=access_key_id, has_secret=bool(secret_access_key),
                          path_style=path_style,
                          object_lock_days=object_lock_days, retention_days=retention_days,
                          password=password, password_hint=password_hint)
    if secret_access_key:
        repository.sealed_secret_access_key = vault.seal(secret_access_key, purpose=_SECRET_PURPOSE,
                                                         binding=repository.vault_binding())
    if password:
        repository.sealed_password = vault.seal(password, purpose=_PASSWORD_PURPOSE, binding=repository.vault_binding())
    _refuse_shared(repository)
    backend = logstore.open_backend(_spec(repository, secret_access_key=secret_access_key))
    created = _first_missing(Path(repository.path)) if kind == LogRepository.Kind.DIRECTORY else None
    try:
        with log_repository_translated(repository):
            store = _prepare(repository, backend, password or None)
        repository.key_id = store.key_id or ""
        with transaction.atomic():
            repository.save()
    except Exception:
        if created is not None:
            _remove_if_empty(created)
        raise
    logger.info("Log repository %s added (%s)", repository.name, repository.location)
    return repository


@sensitive_variables("password")
def _new_row(*, name, kind, path, endpoint_url, bucket, prefix, region, access_key_id, has_secret, path_style,
             object_lock_days, retention_days, password, password_hint) -> LogRepository:
    name = (name or "").strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise RepositoryError("Give the log repository a name (up to 100 printable characters).")
    if LogRepository.objects.filter(name__iexact=name).exists():
        raise RepositoryError(f"A log repository named {name!r} exists already.")
    if not isinstance(retention_days, int) or not 1 <= retention_days <= 36500:
        raise RepositoryMisconfiguredError("Retention must be between 1 and 36500 days.")
    if object_lock_days is not None and not 1 <= object_lock_days <= retention_days:
        raise RepositoryMisconfiguredError("Object lock days must be at least 1 and at most the retention days "
                                           "(retention cannot remove chunks that are still locked).")
    if password is not None and len(password) < 8:
        raise LogRepositoryPasswordError("A log repository password needs at least 8 characters.")
    if kind == LogRepository.Kind.DIRECTORY:
        if object_lock_days:
            raise RepositoryMisconfiguredError("Object lock is for S3 buckets only.")
        return LogRepository(name=name, kind=kind, path=str(log_repository_allowed_path(path)),
                             retention_days=retention_days, **_encryption(password, password_hint))
    if kind != LogRepository.Kind.S3:
        raise RepositoryMisconfiguredError(f"Unknown log repository kind {str(kind)[:20]!r} (directory or s3).")
    _validate_s3(endpoint_url=endpoint_url, bucket=bucket, prefix=(prefix or "").strip("/"), region=region,
                 access_key_id=access_key_id, has_secret=has_secret)
    return LogRepository(name=name, kind=kind, endpoint_url=endpoint_url.rstrip("/"), bucket=bucket,
                         prefix=(prefix or "").strip("/"), region=region, access_key_id=access_key_id.strip(),
                         path_style=path_style, object_lock_days=object_lock_days or None,
                         retention_days=retention_days, **_encryption(password, password_hint))


def _refuse_shared(repository: LogRepository) -> None:
    """Two log repositories never share storage: not the same or a nested directory, not overlapping
    prefixes of one bucket (their retention and chains would fight)."""
    for other in LogRepository.objects.filter(kind=repository.kind):
        if repository.kind == LogRepository.Kind.DIRECTORY:
            mine, theirs = Path(repository.path), Path(other.path)
            shared = mine == theirs or mine.is_relative_to(theirs) or theirs.is_relative_to(mine)
        else:
            same_bucket = (other.endpoint_url.lower(), other.bucket) == (repository.endpoint_url.lower(), repository.bucket)
            mine, theirs = repository.prefix + "/", other.prefix + "/"
            shared = same_bucket and (mine.startswith(theirs) or theirs.startswith(mine) or not other.prefix
                                      or not repository.prefix)
        if shared:
            raise RepositoryMisconfiguredError(f"That storage overlaps log repository {other.name} "
                                               f"({other.location}); choose another place.")


def _encryption(password: str | None, hint: str) -> dict:
    if not password:
        return {"encryption": LogRepository.Encryption.NONE, "password_hint": ""}
    return {"encryption": LogRepository.Encryption.PASSWORD, "password_hint": (hint or "").strip()[:200]}


@sensitive_variables("password")
def _prepare(repository: LogRepository, backend: logstore.Backend, password: str | None) -> logstore.LogRepository:
    backend.check_writable()
    free = backend.free_bytes()
    if free is not None and free < settings.LOG_REPOSITORY_MIN_FREE_BYTES:
        raise logstore.BackendRefusedError(
            f"{backend.describe()}: only {free // 1024} KiB free, at least "
            f"{settings.LOG_REPOSITORY_MIN_FREE_BYTES // (1024 * 1024)} MiB are needed (the disk is nearly full).")
    if backend.exists("keyinfo.json"):
        return logstore.LogRepository(backend, password=password)  # adopt: the password must open it
    return logstore.LogRepository.create(backend, password=password)


def _first_missing(path: Path) -> Path | None:
    missing = None
    for candidate in [path, *path.parents]:
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_if_empty(path: Path) -> None:
    # Only what this add created, and only when no file landed there.
    if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
        shutil.rmtree(path, ignore_errors=True)


def log_repository_default() -> LogRepository:
    """The local directory log repository every installation starts with (under the first allowed root),
    created on first use; an unencrypted repository already in that directory is adopted."""
    root = Path(settings.LOG_REPOSITORY_ROOTS[0]).resolve()
    existing = (LogRepository.objects.filter(name=LOG_DEFAULT_NAME).first()  # or the same directory renamed
                or LogRepository.objects.filter(kind=LogRepository.Kind.DIRECTORY, path=str(root / "default")).first())
    if existing is not None:
        return existing
    return log_repository_add(name=LOG_DEFAULT_NAME, kind=LogRepository.Kind.DIRECTORY, path=str(root / "default"))


# Health check, password, retention

def log_repository_check(*, repository: LogRepository, tenant: str | None = None) -> logstore.VerifyReport:
    """Re-read every manifest and chunk (hashes, the chain, decryption), record the result on the row and
    return the report. An unreachable repository or a wrong password raises (and is recorded too)."""
    try:
        with log_repository_open(repository) as store:
            report = store.verify(tenant)
            usage, free = store.backend.size_bytes(), store.backend.free_bytes()
    except RepositoryError as exc:
        _record_check(repository, ok=False, summary=str(exc))
        raise
    lines = [report.summary()] + [f"{kind}: {problem}" for kind, problem in report.problems()[:20]]
    _record_check(repository, ok=report.ok, summary="\n".join(lines), usage=usage, free=free)
    if not report.ok:
        logger.warning("Log repository %s failed its health check: %s", repository.name, report.summary())
    return report


def log_repositories_check_due(*, now=None) -> list[LogRepository]:
    """The log repositories whose scheduled health check is due (ENTRABACKUP_LOG_REPOSITORY_CHECK_HOURS).

    Each is claimed with a conditional update of its `checked_at`, so the scheduler's next minute does not
    queue it again while a proxy runs the check, and two schedulers never queue it twice.
    """
    hours = settings.LOG_REPOSITORY_CHECK_HOURS
    if not hours:
        return []
    now = now or timezone.now()
    due = LogRepository.objects.filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now - timedelta(hours=hours)))
    return [repository for repository in due
            if LogRepository.objects.filter(pk=repository.pk, checked_at=repository.checked_at).update(checked_at=now)]


def _record_check(repository: LogRepository, *, ok: bool, summary: str, usage=None, free=None) -> None:
    repository.checked_at, repository.check_ok, repository.check_summary = timezone.now(), ok, summary
    fields = ["checked_at", "check_ok", "check_summary"]
    if usage is not None or free is not None:
        repository.usage_bytes, repository.free_bytes = usage, free
        fields += ["usage_bytes", "free_bytes"]
    repository.save(update_fields=fields)


@sensitive_variables("old_password", "new_password")
def log_repository_change_password(*, repository: LogRepository, old_password: str, new_password: str,
                                   password_hint: str | None = None) -> LogRepository:
    """Wrap the repository's master key with a new password; no chunk is rewritten.

    `old_password` must be the current one (LogRepositoryPasswordError otherwise). The new password is
    sealed in the same transaction that rewrites keyinfo.json, so proxies keep opening the repository.
    """
    if repository.encryption != LogRepository.Encryption.PASSWORD:
        raise RepositoryMisconfiguredError(f"Log repository {repository.name} is not encrypted; it has no password.")
    if len(new_password or "") < 8:
        raise LogRepositoryPasswordError("A log repository password needs at least 8 characters.")
    with transaction.atomic():
        row = LogRepository.objects.select_for_update().get(pk=repository.pk)
        row.sealed_password = vault.seal(new_password, purpose=_PASSWORD_PURPOSE, binding=row.vault_binding())
        if password_hint is not None:
            row.password_hint = password_hint.strip()[:200]
        row.save(update_fields=["sealed_password", "password_hint"])
        with log_repository_translated(row):
            store = logstore.LogRepository(log_repository_backend(row), password=old_password)
            store.change_password(old_password, new_password)
    logger.info("Log repository %s: password changed (key %s kept)", row.name, row.key_id)
    repository.refresh_from_db()
    return repository


def log_repository_prune(*, repository: LogRepository, today: date | None = None) -> dict[str, list[date]]:
    """Apply the repository's retention: remove the whole days older than retention_days, per tenant and
    log type. Returns {"tenant/log_type": [removed days]}."""
    before = (today or timezone.now().date()) - timedelta(days=repository.retention_days - 1)
    removed = {}
    with log_repository_open(repository) as store:
        for tenant in store.tenants():
            for log_type in store.log_types(tenant):
                days = store.prune(tenant, log_type, before)
                if days:
                    removed[f"{tenant}/{log_type}"] = days
    return removed
