"""Services for operator accounts."""

import ipaddress
import secrets

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from accounts import access
from accounts.errors import AccountError
from accounts.models import RoleAssignment, User
from accounts.roles import Role
from tenants.models import Tenant


@transaction.atomic
def administrator_ensure(*, username: str) -> tuple[User, str | None]:
    """Create superuser `username` with a random password, or leave an existing one untouched.

    Returns the user and the new password (only when created; it is stored nowhere in clear, so the
    caller shows it once). An existing administrator keeps the password its owner chose. A name the User
    model would refuse (too long, characters other than letters, digits and @.+-_) is an AccountError.
    """
    username_validate(username)
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(18)
    user = User.objects.create_superuser(username=username, email="", password=password)
    return user, password


def username_validate(username: str) -> None:
    """AccountError unless `username` passes the User model's own rules (max_length and validators)."""
    try:
        User._meta.get_field(User.USERNAME_FIELD).clean(username, None)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from None


def login_client_address(request: HttpRequest) -> str | None:
    """The address login failures are counted against (django-axes' AXES_CLIENT_IP_CALLABLE).

    The peer address, unless REVERSE_PROXY_COUNT proxies stand in front of the server: each appends the
    address it received from to X-Forwarded-For, so the entry that many places from the end is the one the
    outermost proxy saw. Entries further left are whatever the client wrote, and are never trusted.
    """
    count = settings.REVERSE_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def login_unlock(*, username: str | None = None, ip_address: str | None = None) -> int:
    """Clear the failed logins recorded for `username` and/or `ip_address`; returns how many records went.

    With both, only that pair is cleared; with one, every record of that user (or that address). An
    address that is not an IPv4 or IPv6 address, or a user name with control characters, is an AccountError.
    """
    if not username and not ip_address:
        raise ValueError("login_unlock needs a username or an address.")
    if username and not username.isprintable():
        raise AccountError("A user name has no control characters.")
    if ip_address:
        try:
            ip_address = str(ipaddress.ip_address(ip_address.strip()))
        except ValueError:
            shown = f"{ip_address[:40]!r}{'…' if len(ip_address) > 40 else ''}"
            raise AccountError(f"{shown} is not an IPv4 or IPv6 address.") from None
    return axes_reset(username=username or None, ip=ip_address or None)


# Roles that manage the site itself: their holders may use the Django admin (which is scoped the same way).
STAFF_ROLES = {Role.ADMINISTRATOR, Role.SECURITY}


@transaction.atomic
def operator_add(*, username: str, role: str, tenants: list[Tenant] | None = None,
                 password: str | None = None) -> tuple[User, bool]:
    """Give `username` the role `role` on `tenants` (None: every tenant), creating the user if needed.

    A new user needs `password`, checked by AUTH_PASSWORD_VALIDATORS; an existing user keeps theirs unless
    one is given. The same role given again replaces that role's tenant scope. Returns (user, created).
    AccountError says what is wrong; its message never holds the password.
    """
    if role not in Role.values:
        raise AccountError(f"Unknown role {role[:40]!r}; choose one of {', '.join(Role.values)}.")
    username_validate(username)
    user = User.objects.filter(username=username).first()
    created = user is None
    if created and not password:
        raise AccountError(f"User '{username}' does not exist yet: a password is needed to create it.")
    if password:
        password_check(password, user or User(username=username))
    if created:
        user = User.objects.create_user(username=username, password=password)
    elif password:
        user.set_password(password)
    user.is_staff = user.is_staff or role in STAFF_ROLES
    user.save()
    role_assign(user=user, role=role, tenants=tenants)
    return user, created


def role_assign(*, user: User, role: str, tenants: list[Tenant] | None) -> RoleAssignment:
    """Give `user` the role `role` on `tenants` (None: every tenant), replacing that role's former scope."""
    assignment, _ = RoleAssignment.objects.update_or_create(user=user, role=role,
                                                            defaults={"all_tenants": tenants is None})
    assignment.tenants.set(tenants or [])
    access.forget(user)
    return assignment


def password_check(password: str, user: User) -> None:
    """AccountError with every rule `password` breaks (AUTH_PASSWORD_VALIDATORS), never the password itself."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError("The password is refused: " + " ".join(exc.messages)) from None


def tenants_named(names: list[str]) -> list[Tenant]:
    """The tenants named by `names`, each a tenant's name or its directory (tenant) ID, any case.

    AccountError names every entry that matches no tenant, or more than one (one directory ID in two clouds).
    """
    found, problems = [], []
    for name in names:
        shown = repr(name[:100])
        matches = list(Tenant.objects.filter(Q(name__iexact=name) | Q(directory_id__iexact=name))[:2]) \
            if name.isprintable() else []
        if not matches:
            problems.append(f"no tenant is named {shown} or has that tenant ID")
        elif len(matches) > 1 and not any(t.name.lower() == name.lower() for t in matches):
            problems.append(f"{shown} is the tenant ID of several tenants; name the tenant instead")
        else:
            found.append(next((t for t in matches if t.name.lower() == name.lower()), matches[0]))
    if problems:
        raise AccountError("--tenants: " + "; ".join(problems) + " (see manage.py tenant_list).")
    return list(dict.fromkeys(found))
