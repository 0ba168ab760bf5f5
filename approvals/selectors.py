"""Reads of the approvals app, scoped to what the user may see (accounts/access.py)."""

from django.db.models import Q, QuerySet

from accounts.access import scope
from approvals.models import Action, ApprovalRequest, ApprovalSwitch

# Deciding a request of a tenant (tenant-scoped), and deciding the others and changing switches (shared: an
# administrator of every tenant).
DECIDE_REQUEST = "approvals.decide_request"
DECIDE = "approvals.decide_approval"


def is_administrator(user, tenant=None) -> bool:
    """Whether `user` may decide a request of `tenant` (None: a request of no tenant, or a switch).

    The administrator role, on that tenant; for no tenant, on every tenant. Superusers always.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(DECIDE) if tenant is None else user.has_perm(DECIDE_REQUEST, tenant)


def approvals_visible_to(user) -> QuerySet[ApprovalRequest]:
    """The requests `user` may decide, and their own requests."""
    decidable = scope(ApprovalRequest.objects.all(), user, DECIDE_REQUEST)
    if not user.has_perm(DECIDE):
        decidable = decidable.exclude(tenant=None)
    rows = ApprovalRequest.objects.filter(Q(pk__in=decidable.values("pk")) | Q(requested_by=user))
    return rows.select_related("requested_by", "decided_by", "tenant")


def switches() -> list[ApprovalSwitch]:
    """One row per switchable action (a migration creates them off), in the order of the actions."""
    existing = {s.action: s for s in ApprovalSwitch.objects.select_related("updated_by")}
    return [existing.get(action) or ApprovalSwitch(action=action) for action in Action.values]
