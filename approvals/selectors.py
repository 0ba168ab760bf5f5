"""Reads of the approvals app, scoped to what the user may see."""

from django.db.models import Q, QuerySet

from approvals.models import Action, ApprovalRequest, ApprovalSwitch
from tenants.models import Tenant

DECIDE = "approvals.decide_approval"


def is_administrator(user, tenant=None) -> bool:
    """An administrator may decide requests (of `tenant`, when given) and change the switches.

    A superuser, or a user granted approvals.decide_approval (the administrator role), for that tenant.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(DECIDE) if tenant is None else user.has_perm(DECIDE, tenant)


def approvals_visible_to(user) -> QuerySet[ApprovalRequest]:
    """Every request an administrator may decide, and the user's own requests."""
    rows = ApprovalRequest.objects.select_related("requested_by", "decided_by", "tenant")
    if user.is_superuser:
        return rows
    if not user.has_perm(DECIDE):
        return rows.filter(requested_by=user)
    mine = Q(requested_by=user)
    tenants = [t for t in _tenants_of(rows) if user.has_perm(DECIDE, t)]
    return rows.filter(mine | Q(tenant__isnull=True) | Q(tenant__in=tenants))


def _tenants_of(rows: QuerySet[ApprovalRequest]):
    return Tenant.objects.filter(pk__in=rows.exclude(tenant=None).values("tenant"))


def switches() -> list[ApprovalSwitch]:
    """One row per switchable action (a migration creates them off), in the order of the actions."""
    existing = {s.action: s for s in ApprovalSwitch.objects.select_related("updated_by")}
    return [existing.get(action) or ApprovalSwitch(action=action) for action in Action.values]
