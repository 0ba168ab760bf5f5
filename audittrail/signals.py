"""Configuration changes reach the audit trail from the models' signals, whoever makes them.

Pages, commands and the Django admin all save through the ORM, so create, update and delete of tenants,
jobs, repositories, users and roles are recorded here once, with a summary of the fields that changed
(never the value of a secret). Fields the product itself keeps up to date (a tenant's last check, a job's
next run, a user's last login) are not configuration: a save touching only those records nothing.
`QuerySet.update()` sends no signal; code that changes configuration that way records it itself.
"""

from dataclasses import dataclass
from datetime import date, datetime

from axes.signals import user_locked_out
from django.contrib.auth import signals as auth_signals
from django.contrib.auth.models import Group
from django.db.models import signals
from django.dispatch import receiver

from accounts.models import RoleAssignment, User
from audittrail.models import Entry
from audittrail.trail import REDACTED, SECRET_KEY_NAME, record
from entrabackup.vault import SealedField
from jobs.models import BackupJob, LogJob
from repositories.models import LogRepository, Repository
from tenants.models import Tenant


@dataclass(frozen=True)
class Audited:
    noun: str
    volatile: frozenset[str] = frozenset()


AUDITED = {
    Tenant: Audited("tenant", frozenset({"check_status", "checked_at", "check_report", "updated_at"})),
    BackupJob: Audited("job", frozenset({"next_run_at"})),
    LogJob: Audited("logjob", frozenset({"next_run_at"})),
    Repository: Audited("repository", frozenset({"schema_version", "server_version", "size_bytes", "checked_at",
                                                 "check_error"})),
    LogRepository: Audited("logrepository", frozenset({"checked_at", "check_ok", "check_summary", "usage_bytes",
                                                       "free_bytes"})),
    User: Audited("user", frozenset({"last_login"})),
    Group: Audited("group"),
    RoleAssignment: Audited("role_assignment"),
}
MAX_VALUE = 200


def snapshot(instance) -> dict:
    """The configuration fields of `instance`, by name (secret fields too: compared, never recorded)."""
    audited = AUDITED[type(instance)]
    return {field.name: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if not field.primary_key and field.name not in audited.volatile}


def shown(model, name: str, value):
    """A field's value as the trail shows it: short JSON, and for a secret field only whether it is set."""
    field = model._meta.get_field(name)
    if isinstance(field, SealedField) or SECRET_KEY_NAME.search(name):
        return REDACTED if value else ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"
    if isinstance(value, int | float | bool | list | dict) or value is None:
        return value
    return str(value)


def changes(model, before: dict, after: dict) -> dict:
    """{field: {"from": old, "to": new}} of the fields that differ; a secret field keeps only its name (the
    trail's detail drops the value of any key that looks like a secret)."""
    return {name: {"from": shown(model, name, before.get(name)), "to": shown(model, name, value)}
            for name, value in after.items() if before.get(name) != value}


def _target(instance) -> str:
    owner = f" of user '{instance.user}'" if isinstance(instance, RoleAssignment) else ""
    return f"{AUDITED[type(instance)].noun} '{instance}'{owner} ({instance.pk})"


def _tenant(instance):
    """The tenant to record: the instance itself, or its tenant's id (never a read that a cascade could break)."""
    return instance if isinstance(instance, Tenant) else getattr(instance, "tenant_id", None)


def _only_volatile(instance, update_fields) -> bool:
    return update_fields is not None and set(update_fields) <= AUDITED[type(instance)].volatile


@receiver(signals.pre_save)
def _remember_before(sender, instance, raw=False, update_fields=None, **kwargs):
    if sender not in AUDITED or raw or instance._state.adding or _only_volatile(instance, update_fields):
        return
    before = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(before) if before is not None else None


@receiver(signals.post_save)
def _record_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if sender not in AUDITED or raw or _only_volatile(instance, update_fields):
        return
    after = snapshot(instance)
    before = instance.__dict__.pop("_audit_before", None)
    noun = AUDITED[sender].noun
    if created or before is None:
        fields = {name: shown(sender, name, value) for name, value in after.items()}
        record(f"{noun}.create", target=_target(instance), tenant=_tenant(instance), detail={"fields": fields})
    elif changed := changes(sender, before, after):
        record(f"{noun}.update", target=_target(instance), tenant=_tenant(instance), detail={"changed": changed})


@receiver(signals.post_delete)
def _record_delete(sender, instance, **kwargs):
    if sender in AUDITED:
        fields = {name: shown(sender, name, value) for name, value in snapshot(instance).items()}
        record(f"{AUDITED[sender].noun}.remove", target=_target(instance), tenant=_tenant(instance),
               detail={"fields": fields})


@receiver(signals.m2m_changed, sender=User.groups.through)
@receiver(signals.m2m_changed, sender=User.user_permissions.through)
@receiver(signals.m2m_changed, sender=Group.permissions.through)
@receiver(signals.m2m_changed, sender=RoleAssignment.tenants.through)
def _record_membership(sender, instance, action, model, pk_set, **kwargs):
    """A user's groups or permissions, a group's permissions or the tenants of a role assignment changed."""
    if action not in {"post_add", "post_remove", "post_clear"} or (action != "post_clear" and not pk_set):
        return
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    names = sorted(str(obj) for obj in model._base_manager.filter(pk__in=pk_set or ()))
    relation = str(model._meta.verbose_name_plural)
    if type(instance) in AUDITED:
        record(f"{AUDITED[type(instance)].noun}.update", target=_target(instance), detail={relation: {verb: names}})
    else:  # a permission given to users or roles from the permission's side
        record("permission.update", target=f"permission '{instance}'", detail={relation: {verb: names}})


@receiver(auth_signals.user_logged_in)
def _record_sign_in(sender, request, user, **kwargs):
    record("signin.success", target=f"user '{user.get_username()}'", request=request, user=user)


@receiver(auth_signals.user_logged_out)
def _record_sign_out(sender, request, user, **kwargs):
    if user is not None:
        record("signin.logout", target=f"user '{user.get_username()}'", request=request, user=user)


@receiver(auth_signals.user_login_failed)
def _record_sign_in_failure(sender, credentials, request=None, **kwargs):
    # The name is what the client typed (no such user, maybe): it is the target, never the actor.
    record("signin.failure", target=f"user '{credentials.get('username', '')}'", result=Entry.Result.FAILED,
           request=request)


@receiver(user_locked_out)
def _record_lockout(sender, request, username, ip_address, **kwargs):
    record("signin.lockout", target=f"user '{username or ''}'", result=Entry.Result.DENIED, request=request,
           detail={"address": ip_address})
