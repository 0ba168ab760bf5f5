"""Services for operator accounts."""

import ipaddress
import secrets

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.errors import AccountError
from accounts.models import User


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
