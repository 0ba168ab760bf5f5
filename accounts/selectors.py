"""Reads of operator accounts."""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Prefetch

from accounts.models import RoleAssignment, User


@dataclass(frozen=True)
class OperatorRow:
    """One operator as `operator_list` shows it."""

    username: str
    active: bool
    superuser: bool
    roles: list[tuple[str, list[str] | None]]  # (role label, tenant names or None for all tenants)
    last_login: datetime | None
    second_factor: str


def operators() -> list[OperatorRow]:
    """Every user with their roles and tenant scopes, by user name."""
    assignments = Prefetch("role_assignments", RoleAssignment.objects.prefetch_related("tenants").order_by("role"))
    return [OperatorRow(username=user.username, active=user.is_active, superuser=user.is_superuser,
                        roles=[(a.get_role_display(), None if a.all_tenants else sorted(t.name for t in a.tenants.all()))
                               for a in user.role_assignments.all()],
                        last_login=user.last_login, second_factor=second_factor(user))
            for user in User.objects.order_by("username").prefetch_related(assignments)]


def second_factor(user: User) -> str:
    """"on" or "off" when a second factor (django-otp) is installed, "n/a" otherwise."""
    if not apps.is_installed("django_otp"):
        return "n/a"
    from django_otp import user_has_device  # noqa: PLC0415 - optional until the TOTP slice installs it

    return "on" if user_has_device(user, confirmed=True) else "off"
