"""The actions of the other apps that wait for four-eyes approval, and their executors.

Each `<noun>_<verb>` here is what a page or a command calls instead of the plain service: it either does the
work at once (approval off for that action, or a small restore) or returns the pending ApprovalRequest. The
executors registered below run the same service once a second administrator approves.
"""

import secrets

from django.views.decorators.debug import sensitive_variables

from approvals.gate import gate, register
from approvals.models import Action, ApprovalRequest
from approvals.services import state_digest, switch_requires
from entrabackup import vault
from jobs.models import BackupJob
from repositories.errors import LogRepositoryPasswordError, RepositoryError
from repositories.log_services import log_repository_change_password
from repositories.models import LogRepository, Repository
from repositories.services import repository_tenant_purge
from restore.errors import RestoreError
from restore.models import RestorePlan, RestoreSession
from restore.sessions import restore_request_check, restore_session_create
from tenants.models import Tenant

# -- restores above the configured size (restore.apply_large) -----------------------------------------------


def restore_apply(*, tenant: Tenant, plan: dict, reason: str, user=None, plan_row: RestorePlan | None = None
                  ) -> RestoreSession | ApprovalRequest:
    """Queue the restore, or, when it has at least the configured number of writes, ask for approval.

    The plan waiting for approval is kept as a RestorePlan row (`plan_row`, or a new one for a plan file).
    """
    plan, reason = restore_request_check(tenant=tenant, plan=plan, reason=reason, requested_by=user)
    writes = len(plan["steps"])
    if not switch_requires(Action.RESTORE_APPLY_LARGE, size=writes):
        return restore_session_create(tenant=tenant, plan=plan, reason=reason, requested_by=user)
    if user is None:
        raise RestoreError(f"A restore of {writes} writes waits for a second administrator: say who asks for it "
                           "(--as USERNAME).")
    if plan_row is None or plan_row.plan.get("plan_id") != plan["plan_id"]:
        plan_row = RestorePlan.objects.create(tenant=tenant, plan=plan, created_by=user)
    return gate(Action.RESTORE_APPLY_LARGE, user=user, tenant=tenant, size=writes,
                summary=f"Restore {writes} writes to tenant {tenant.name}",
                params={"plan": plan_row.pk, "plan_id": plan["plan_id"], "tenant": tenant.pk, "writes": writes,
                        "reason": reason})


def _restore_run(params: dict, approval: ApprovalRequest) -> str:
    row = RestorePlan.objects.select_related("tenant").get(pk=params["plan"])
    session = restore_session_create(tenant=row.tenant, plan=row.plan, reason=params["reason"],
                                     requested_by=approval.requested_by)
    return f"Restore session {session.pk} queued for tenant {row.tenant.name}."


def _restore_state(params: dict) -> str:
    row = RestorePlan.objects.filter(pk=params["plan"]).values("plan__plan_id", "tenant_id").first()
    return state_digest(row)


def _restore_describe(params: dict) -> list[tuple[str, object]]:
    row = RestorePlan.objects.select_related("tenant").filter(pk=params["plan"]).first()
    point = (row.plan.get("restore_point") or {}) if row else {}
    return [("Tenant", row.tenant.name if row else "(plan removed)"), ("Writes", params.get("writes")),
            ("Back to restore point", f"{point.get('id', '?')} ({point.get('committed_at', '?')})"),
            ("Reason", params.get("reason")), ("Plan", params.get("plan"))]


register(Action.RESTORE_APPLY_LARGE, _restore_run, describe=_restore_describe, state=_restore_state,
         errors=(RestoreError,))


# -- removing a tenant's restore points from a repository (restore_point.delete) -----------------------------

TENANT_PURGE = "tenant_purge"


def tenant_restore_points_delete(*, repository: Repository, tenant: Tenant, user=None) -> dict | ApprovalRequest:
    """Remove every restore point of `tenant` from `repository` (the counts), or the request waiting for approval."""
    if switch_requires(Action.RESTORE_POINT_DELETE):
        if user is None:
            raise RepositoryError("Deleting restore points waits for a second administrator: say who asks for it "
                                  "(--as USERNAME).")
        return gate(Action.RESTORE_POINT_DELETE, user=user, tenant=tenant,
                    summary=f"Delete every restore point of tenant {tenant.name} from repository {repository.name}",
                    params={"kind": TENANT_PURGE, "repository": repository.pk, "tenant": tenant.pk})
    return repository_tenant_purge(repository=repository, tenant=tenant)


def _purge_run(params: dict, approval: ApprovalRequest) -> str:
    repository = Repository.objects.get(pk=params["repository"])
    tenant = Tenant.objects.get(pk=params["tenant"])
    counts = repository_tenant_purge(repository=repository, tenant=tenant)
    return (f"Removed {counts.get('restore_point', 0)} restore point(s) and {counts.get('object_version', 0)} "
            f"object version(s) of tenant {tenant.name} from repository {repository.name}.")


def _purge_state(params: dict) -> str:
    repository = Repository.objects.filter(pk=params["repository"]).values("name", "kind", "host", "database").first()
    tenant = Tenant.objects.filter(pk=params["tenant"]).values("key").first()
    return state_digest(repository, tenant)


def _purge_describe(params: dict) -> list[tuple[str, object]]:
    repository = Repository.objects.filter(pk=params["repository"]).first()
    tenant = Tenant.objects.filter(pk=params["tenant"]).first()
    return [("Repository", repository.name if repository else "(removed)"),
            ("Tenant", tenant.name if tenant else "(removed)"), ("Restore points", "every one, with their versions")]


register(Action.RESTORE_POINT_DELETE, _purge_run, kind=TENANT_PURGE, describe=_purge_describe, state=_purge_state,
         errors=(RepositoryError,))


# -- lowering a retention (retention.lower): a job's restore points, a log repository's days ----------------

RETENTION_FIELDS = {"job": ("retention_days", "retention_points"), "log_repository": ("retention_days",)}
RETENTION_MODELS = {"job": BackupJob, "log_repository": LogRepository}


def retention_lowers(old: int | None, new: int | None) -> bool:
    """Whether a retention goes from `old` to something shorter (None keeps everything)."""
    return new is not None and (old is None or new < old)


def retention_change(*, target, values: dict, user) -> ApprovalRequest | None:
    """The request when `values` lower `target`'s retention and four-eyes is on for it; None: save them now.

    `target` is a BackupJob or a LogRepository as stored now (before the change).
    """
    kind = "job" if isinstance(target, BackupJob) else "log_repository"
    lowered = {f: values[f] for f in RETENTION_FIELDS[kind] if f in values
               and retention_lowers(getattr(target, f), values[f])}
    if not lowered or not switch_requires(Action.RETENTION_LOWER):
        return None
    changes = ", ".join(f"{f.replace('_', ' ')} {getattr(target, f) or 'unlimited'} -> {v}" for f, v in lowered.items())
    return gate(Action.RETENTION_LOWER, user=user, tenant=getattr(target, "tenant", None),
                summary=f"Lower the retention of {target} ({changes})",
                params={"kind": kind, "pk": target.pk, **{f: values[f] for f in RETENTION_FIELDS[kind] if f in values}})


def _retention_row(params: dict):
    return RETENTION_MODELS[params["kind"]].objects.filter(pk=params["pk"]).first()


def _retention_run(params: dict, approval: ApprovalRequest) -> str:
    row = _retention_row(params)
    fields = [f for f in RETENTION_FIELDS[params["kind"]] if f in params]
    for name in fields:
        setattr(row, name, params[name])
    row.save(update_fields=fields)
    return f"Retention of {row} set: " + ", ".join(f"{f.replace('_', ' ')} {params[f]}" for f in fields) + "."


def _retention_state(params: dict) -> str:
    row = _retention_row(params)
    return state_digest(None if row is None else [getattr(row, f) for f in RETENTION_FIELDS[params["kind"]]])


def _retention_describe(params: dict) -> list[tuple[str, object]]:
    row = _retention_row(params)
    rows = [("Job" if params["kind"] == "job" else "Log repository", str(row) if row else "(removed)")]
    for name in RETENTION_FIELDS[params["kind"]]:
        if name in params:
            before = getattr(row, name, None) if row else None
            rows.append((name.replace("_", " ").capitalize(), f"{before or 'unlimited'} -> {params[name] or 'unlimited'}"))
    return rows


for _kind in RETENTION_FIELDS:
    register(Action.RETENTION_LOWER, _retention_run, kind=_kind, describe=_retention_describe, state=_retention_state)


# -- changing a log repository's encryption password (encryption.off) ----------------------------------------

REWRAP_KIND = "log_repository_password"
_SEALED_PARAM = "sealed_new_password"  # sealed until the change runs, then dropped from the request
_REQUEST_PURPOSE = "approvals.approvalrequest.params.sealed_new_password"


@sensitive_variables("old_password", "new_password")
def log_repository_password_change(*, repository: LogRepository, old_password: str, new_password: str,
                                   password_hint: str | None = None, user=None) -> LogRepository | ApprovalRequest:
    """Change the password now, or, with four-eyes approval on for encryption, the request (the old password is
    checked now; the new one waits sealed in the request, bound to it, until the change runs)."""
    if not switch_requires(Action.ENCRYPTION_OFF):
        return log_repository_change_password(repository=repository, old_password=old_password,
                                              new_password=new_password, password_hint=password_hint)
    if user is None:
        raise RepositoryError("Changing an encryption password waits for a second administrator: say who asks for "
                              "it (--as USERNAME).")
    if repository.encryption != LogRepository.Encryption.PASSWORD or old_password != _current_password(repository):
        raise LogRepositoryPasswordError(f"The old password of log repository {repository.name} is not right.")
    if len(new_password or "") < 8:
        raise LogRepositoryPasswordError("A log repository password needs at least 8 characters.")
    binding = secrets.token_hex(16)
    return gate(Action.ENCRYPTION_OFF, user=user, summary=f"Change the encryption password of log repository "
                                                         f"{repository.name}",
                params={"kind": REWRAP_KIND, "pk": repository.pk, "hint": password_hint, "binding": binding,
                        _SEALED_PARAM: vault.seal(new_password, purpose=_REQUEST_PURPOSE, binding=binding)})


def _current_password(repository: LogRepository) -> str:
    return vault.unseal(repository.sealed_password, purpose=vault.purpose_of(LogRepository, "sealed_password"),
                        binding=repository.vault_binding())


def _password_run(params: dict, approval: ApprovalRequest) -> str:
    repository = LogRepository.objects.get(pk=params["pk"])
    new_password = vault.unseal(params[_SEALED_PARAM], purpose=_REQUEST_PURPOSE, binding=params["binding"])
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        params={k: v for k, v in params.items() if k != _SEALED_PARAM})
    log_repository_change_password(repository=repository, old_password=_current_password(repository),
                                   new_password=new_password, password_hint=params.get("hint"))
    return f"Log repository {repository.name}: password changed (key {repository.key_id} kept, no chunk rewritten)."


def _password_state(params: dict) -> str:
    row = LogRepository.objects.filter(pk=params["pk"]).values("key_id", "sealed_password", "encryption").first()
    return state_digest(row)


def _password_describe(params: dict) -> list[tuple[str, object]]:
    repository = LogRepository.objects.filter(pk=params["pk"]).first()
    return [("Log repository", repository.name if repository else "(removed)"),
            ("New password", "given (kept sealed until the change)"), ("Hint", params.get("hint") or "-")]


register(Action.ENCRYPTION_OFF, _password_run, kind=REWRAP_KIND, describe=_password_describe,
         state=_password_state, errors=(RepositoryError, vault.VaultError))
