"""Editing, disabling, cloning and removing registered tenants (pages and commands share these).

What a removal does to the data, exactly:
- the registration (and its sealed credential), its backup and log jobs and the history of its sessions and
  restores are deleted from the configuration database, and its rows of the log index;
- its restore points in the Entra ID backup repositories are either kept (`backups="keep"`: they stay in
  each repository under the tenant's key, which the confirmation shows) or erased (`backups="erase"`: purged
  from every repository before the registration goes; typing the tenant's name confirms it);
- its audit and sign-in log chunks always stay in the log repositories, in the folder named by its key
  (chunks are immutable and may be under object lock); a log repository's own removal can erase them.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from approvals.gate import gate
from audittrail.trail import record
from jobs.logbackup import index as logindex
from jobs.models import BackupSession, LogSession
from repositories.errors import RepositoryError
from repositories.models import LogRepository, Repository
from repositories.services import repository_store, repository_tenant_purge
from restore.models import RestoreSession
from tenants.errors import TenantValidationError
from tenants.models import Tenant
from tenants.services import _features, _reset_check

logger = logging.getLogger(__name__)
BACKUP_CHOICES = ("keep", "erase")
NAME_MAX = Tenant._meta.get_field("name").max_length


@dataclass
class TenantHoldings:
    """What a tenant holds and what depends on it: shown before it is removed."""

    restore_points: dict[str, int] = field(default_factory=dict)  # repository name -> committed restore points
    unreadable: dict[str, str] = field(default_factory=dict)  # repository name -> why it could not be read
    log_chunks: dict[str, tuple[int, int]] = field(default_factory=dict)  # log repository -> (chunks, records)
    backup_jobs: list[str] = field(default_factory=list)
    log_jobs: int = 0
    sessions: int = 0
    active: list[str] = field(default_factory=list)  # sessions queued or running

    @property
    def has_backups(self) -> bool:
        return bool(self.unreadable) or any(self.restore_points.values())


def tenant_name_validate(name: str, *, tenant: Tenant | None = None) -> str:
    """A tenant name: 1 to 100 printable characters, unique in any case."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise TenantValidationError(f"A tenant name is 1 to {NAME_MAX} printable characters.")
    others = Tenant.objects.filter(name__iexact=name).exclude(pk=getattr(tenant, "pk", None))
    if others.exists():
        raise TenantValidationError(f"A tenant named {name!r} is already registered.")
    return name


def tenant_update(*, tenant: Tenant, name: str | None = None, features: list[str] | None = None,
                  enabled: bool | None = None, user=None, request=None) -> Tenant:
    """Rename a tenant, choose its features (the connection test then judges only those) or disable it
    (none of its jobs is scheduled; its backups are kept). The connection and credential change on their
    own (services.tenant_set_connection / tenant_set_credential), since the credential is sealed for them."""
    changed = {}
    if name is not None and name.strip() != tenant.name:
        changed["name"] = tenant_name_validate(name, tenant=tenant)
    if features is not None:
        if not features:
            raise TenantValidationError("Choose at least one feature.")
        if _features(features) != tenant.features:
            changed["features"] = _features(features)
    if enabled is not None and enabled != tenant.enabled:
        changed["enabled"] = bool(enabled)
    for attribute, value in changed.items():
        setattr(tenant, attribute, value)
    if "features" in changed:
        _reset_check(tenant)  # the last test judged other features
    if changed:
        tenant.save()  # the audit trail records the change from the model's signal
    return tenant


def tenant_clone_initial(tenant: Tenant) -> dict:
    """What the add form starts with to register a copy: everything but the credential (asked for again)
    and the tenant ID, which a second registration of the same directory cannot share."""
    return {"name": f"Copy of {tenant.name}"[:NAME_MAX], "client_id": tenant.client_id, "cloud": tenant.cloud,
            "authority_url": tenant.authority_url, "graph_url": tenant.graph_url, "features": tenant.features}


def tenant_holdings(tenant: Tenant) -> TenantHoldings:
    """Restore points per repository, log chunks per log repository, jobs and sessions of the tenant."""
    holdings = TenantHoldings()
    for repository in Repository.objects.all():
        try:
            with repository_store(repository) as store:
                count = store.restore_point_counts().get(str(tenant.key), 0)
        except RepositoryError as exc:
            holdings.unreadable[repository.name] = str(exc)
            continue
        if count:
            holdings.restore_points[repository.name] = count
    names = dict(LogRepository.objects.values_list("pk", "name"))
    holdings.log_chunks = {names.get(int(key), key): counts
                           for key, counts in logindex.tenant_chunk_counts(tenant.pk).items()}
    holdings.backup_jobs = list(tenant.backup_jobs.values_list("name", flat=True))
    holdings.log_jobs = tenant.log_jobs.count()
    holdings.sessions = tenant.backup_sessions.count() + tenant.log_sessions.count()
    holdings.active = _active_sessions(tenant)
    return holdings


def _active_sessions(tenant: Tenant) -> list[str]:
    active = [f"backup session {pk}" for pk in BackupSession.objects.filter(
        tenant=tenant, status__in=BackupSession.ACTIVE).values_list("pk", flat=True)]
    active += [f"log session {pk}" for pk in LogSession.objects.filter(
        tenant=tenant, status__in=LogSession.ACTIVE).values_list("pk", flat=True)]
    active += [f"restore session {pk}" for pk in RestoreSession.objects.filter(
        tenant=tenant, status__in=RestoreSession.ACTIVE).values_list("pk", flat=True)]
    return active


def tenant_remove(*, tenant: Tenant, backups: str = "", confirm: str = "", user=None, request=None):
    """Remove a tenant (see the module's docstring for what happens to its data).

    Refused while one of its sessions is queued or running. When it has restore points, `backups` must say
    "keep" or "erase"; "erase" also needs `confirm` equal to the tenant's name, and may wait for a second
    administrator's approval (the pending request is returned then). Returns the holdings it had.
    """
    holdings = tenant_holdings(tenant)
    _refuse(tenant, holdings, backups, confirm)
    if backups == "erase":
        pending = _purges_approved(tenant, holdings, user)
        if pending is not None:
            return pending
        for repository in Repository.objects.filter(name__in=list(holdings.restore_points)):
            repository_tenant_purge(repository=repository, tenant=tenant)  # first: a failure keeps the tenant
        record("restore_points.erase", target=f"tenant '{tenant.name}'", tenant=tenant,
               detail={"restore_points": holdings.restore_points}, request=request, user=user)
    with transaction.atomic():  # the removal itself is recorded in the audit trail from the model's signal
        logindex.tenant_forget(tenant.pk)
        tenant.delete()
    logger.info("Tenant %s removed (restore points %s)", tenant.name, backups or "none")
    return holdings


def _refuse(tenant: Tenant, holdings: TenantHoldings, backups: str, confirm: str) -> None:
    """TenantValidationError when the removal cannot go ahead as asked, saying why."""
    if holdings.active:
        raise TenantValidationError(f"Tenant {tenant.name} has {', '.join(holdings.active)} queued or running; "
                                    "cancel or wait for it first.")
    if backups and backups not in BACKUP_CHOICES:
        raise TenantValidationError(f"Choose what happens to its restore points: {' or '.join(BACKUP_CHOICES)}.")
    if holdings.has_backups and not backups:
        where = ", ".join(f"{n} ({c})" for n, c in holdings.restore_points.items()) or ", ".join(holdings.unreadable)
        raise TenantValidationError(f"Tenant {tenant.name} has restore points in {where}: choose to keep or "
                                    "erase them.")
    if backups == "erase" and confirm != tenant.name:
        raise TenantValidationError(f"Type the tenant's name ({tenant.name}) to erase its restore points.")
    if backups == "erase" and holdings.unreadable:
        raise TenantValidationError("Cannot erase: " + "; ".join(holdings.unreadable.values()))


def _purges_approved(tenant: Tenant, holdings: TenantHoldings, user):
    """None when erasing the restore points may go ahead; else the first request waiting for a second
    administrator (one per repository: each is the approvals app's "delete restore points" of that repository).
    Once they are approved and done, the tenant holds no restore points and is removed without a choice."""
    requests = [gate("restore_point.delete", user=user, tenant=tenant,
                     summary=f"Delete every restore point of tenant {tenant.name} from repository {repository.name}",
                     params={"kind": "tenant_purge", "repository": repository.pk, "tenant": tenant.pk})
                for repository in Repository.objects.filter(name__in=list(holdings.restore_points))]
    return next((request for request in requests if request is not None), None)
