"""Renaming, disabling and removing Entra ID backup repositories and log repositories (pages and commands).

A repository that jobs write to cannot be removed: change or remove those jobs first. Otherwise removing it
either detaches it (`data="detach"`: only the registration goes; the database or the chunks stay where they
are, untouched, and adding the same place again finds them) or erases its data (`data="erase"`: every
tenant's restore points are purged from the database, or every chunk and manifest is deleted from the log
repository, before the registration goes; typing the repository's name confirms it, and a second
administrator may have to approve it). Chunks under S3 object lock cannot be erased before their lock ends.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from approvals.gate import gate, register
from audittrail.trail import record
from jobs.logbackup.index import repository_forget
from repositories.errors import RepositoryError
from repositories.log_services import log_repository_open
from repositories.models import LogRepository, Repository
from repositories.services import repository_store
from tenants.models import Tenant

logger = logging.getLogger(__name__)
DATA_CHOICES = ("detach", "erase")
NAME_MAX = Repository._meta.get_field("name").max_length


def _name(name: str, model, instance) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise RepositoryError(f"A repository name is 1 to {NAME_MAX} printable characters.")
    if model.objects.filter(name__iexact=name).exclude(pk=instance.pk).exists():
        raise RepositoryError(f"A repository named {name!r} exists already.")
    return name


def repository_update(*, repository: Repository, name: str | None = None, enabled: bool | None = None,
                      user=None, request=None) -> Repository:
    """Rename a repository or disable it (jobs writing to it are not scheduled; its data is kept). Where it
    is changes only with its password again (services.repository_set_connection)."""
    changed = {}
    if name is not None and name.strip() != repository.name:
        changed["name"] = _name(name, Repository, repository)
    if enabled is not None and enabled != repository.enabled:
        changed["enabled"] = bool(enabled)
    return _save(repository, changed)


def log_repository_update(*, repository: LogRepository, name: str | None = None, enabled: bool | None = None,
                          retention_days: int | None = None, password_hint: str | None = None, user=None,
                          request=None):
    """Rename, disable, change the retention or the password hint of a log repository.

    Lowering the retention removes days at the next session, so it may wait for approval (the pending
    request is returned). The encryption cannot be switched on or off: chunks are sealed when written; its
    password changes with log_repository_change_password.
    """
    changed = {}
    if name is not None and name.strip() != repository.name:
        changed["name"] = _name(name, LogRepository, repository)
    if enabled is not None and enabled != repository.enabled:
        changed["enabled"] = bool(enabled)
    if retention_days is not None and retention_days != repository.retention_days:
        if not 1 <= retention_days <= 36_500:
            raise RepositoryError(f"Keep logs 1 to 36500 days (got {retention_days}).")
        changed["retention_days"] = retention_days
    if password_hint is not None and password_hint != repository.password_hint:
        if len(password_hint) > 200:
            raise RepositoryError("A password hint is at most 200 characters.")
        changed["password_hint"] = password_hint
    if changed.get("retention_days", repository.retention_days) < repository.retention_days:
        pending = gate("retention.lower", user=user, summary=f"Lower the retention of log repository {repository.name} "
                       f"to {retention_days} days", params={"kind": "log_repository", "pk": repository.pk,
                                                            "retention_days": retention_days})
        if pending is not None:  # the other changes apply now; the retention once a second administrator approves
            _save(repository, {k: v for k, v in changed.items() if k != "retention_days"})
            return pending
    return _save(repository, changed)


def _save(instance, changed: dict):
    if changed:
        for attribute, value in changed.items():
            setattr(instance, attribute, value)
        instance.save(update_fields=list(changed))  # recorded in the audit trail from the model's signal
    return instance


@dataclass
class RepositoryHoldings:
    """What a repository holds (restore points per tenant, or chunks per tenant folder) and who writes to it."""

    jobs: list[str] = field(default_factory=list)
    data: dict[str, int] = field(default_factory=dict)  # tenant name (or key when unregistered) -> restore points/chunks
    unit: str = "restore points"
    error: str = ""

    @property
    def has_data(self) -> bool:
        return bool(self.error) or any(self.data.values())


def _tenant_names() -> dict[str, str]:
    return {str(key): name for key, name in Tenant.objects.values_list("key", "name")}


def repository_holdings(repository: Repository) -> RepositoryHoldings:
    holdings = RepositoryHoldings(jobs=list(repository.backup_jobs.values_list("name", flat=True)))
    names = _tenant_names()
    try:
        with repository_store(repository) as store:
            counts = store.restore_point_counts()
    except RepositoryError as exc:
        holdings.error = str(exc)
        return holdings
    holdings.data = {names.get(key, f"unregistered tenant {key}"): count for key, count in counts.items() if count}
    return holdings


def log_repository_holdings(repository: LogRepository) -> RepositoryHoldings:
    jobs = [str(job) for job in repository.primary_jobs.select_related("tenant")]
    jobs += [f"{job} (secondary)" for job in repository.secondary_jobs.select_related("tenant")]
    holdings = RepositoryHoldings(jobs=jobs, unit="chunks")
    names = _tenant_names()
    try:
        with log_repository_open(repository) as store:
            counts = store.chunk_counts()
    except RepositoryError as exc:
        holdings.error = str(exc)
        return holdings
    holdings.data = {names.get(key, f"unregistered tenant {key}"): count for key, count in counts.items()}
    return holdings


def _refuse(kind: str, repository, holdings: RepositoryHoldings, data: str, confirm: str) -> None:
    if holdings.jobs:
        raise RepositoryError(f"The {kind} {repository.name} is used by {', '.join(holdings.jobs)}: change or "
                              "remove those jobs first.")
    if data and data not in DATA_CHOICES:
        raise RepositoryError(f"Choose what happens to its data: {' or '.join(DATA_CHOICES)}.")
    if holdings.has_data and not data:
        raise RepositoryError(f"The {kind} {repository.name} holds data: choose to detach it (data left in place) "
                              "or erase it.")
    if data == "erase":
        if confirm != repository.name:
            raise RepositoryError(f"Type the repository's name ({repository.name}) to erase its data.")
        if holdings.error:
            raise RepositoryError(f"Cannot erase: {holdings.error}")


def repository_remove(*, repository: Repository, data: str = "", confirm: str = "", user=None, request=None,
                      approved: bool = False):
    """Remove an Entra ID backup repository (see the module's docstring); returns its holdings, or the
    pending approval request (`approved`: a second administrator approved it already)."""
    holdings = repository_holdings(repository)
    _refuse("repository", repository, holdings, data, confirm)
    if not approved:
        pending = gate("repository.delete", user=user, summary=f"Remove repository {repository.name} ({data or 'empty'})",
                       params={"kind": "directory", "pk": repository.pk, "data": data, "confirm": confirm})
        if pending is not None:
            return pending
    if data == "erase":
        with repository_store(repository) as store:
            for key in store.restore_point_counts():
                store.tenant_purge(key)
        record("repository.erase", target=f"repository '{repository.name}'", detail={"restore_points": holdings.data},
               request=request, user=user)
    with transaction.atomic():
        repository.delete()
    logger.info("Repository %s removed (%s)", repository.name, data or "empty")
    return holdings


def log_repository_remove(*, repository: LogRepository, data: str = "", confirm: str = "", user=None, request=None,
                          approved: bool = False):
    """Remove a log repository (see the module's docstring); returns its holdings, or the pending request."""
    holdings = log_repository_holdings(repository)
    _refuse("log repository", repository, holdings, data, confirm)
    if not approved:
        pending = gate("repository.delete", user=user, summary=f"Remove log repository {repository.name} "
                       f"({data or 'empty'})", params={"kind": "log_repository", "pk": repository.pk, "data": data,
                                                       "confirm": confirm})
        if pending is not None:
            return pending
    if data == "erase":
        with log_repository_open(repository) as store:
            store.erase()
        record("logrepository.erase", target=f"log repository '{repository.name}'", detail={"chunks": holdings.data},
               request=request, user=user)
    repository_forget(str(repository.pk))  # the index would point at chunks no longer there
    with transaction.atomic():
        repository.delete()
    logger.info("Log repository %s removed (%s)", repository.name, data or "empty")
    return holdings


def _removal_approved(params: dict, approval) -> str:
    """Run a removal a second administrator approved (the approvals app calls it), with the same checks."""
    model, remove = {"directory": (Repository, repository_remove),
                     "log_repository": (LogRepository, log_repository_remove)}[params["kind"]]
    repository = model.objects.get(pk=params["pk"])
    remove(repository=repository, data=params["data"], confirm=params["confirm"], approved=True,
           user=approval.requested_by)
    return f"Repository {repository.name} removed ({params['data'] or 'it held no data'})."


def _removal_describe(params: dict) -> list[tuple[str, object]]:
    model = Repository if params["kind"] == "directory" else LogRepository
    repository = model.objects.filter(pk=params["pk"]).first()
    return [("Repository", repository.name if repository else "(removed)"),
            ("Its data", {"erase": "erased", "detach": "left in place"}.get(params["data"], "none held"))]


for _kind in ("directory", "log_repository"):
    register("repository.delete", _removal_approved, kind=_kind, describe=_removal_describe, errors=(RepositoryError,))
