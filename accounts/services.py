"""Services for operator accounts."""

import secrets

from axes.utils import reset as axes_reset
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User


@transaction.atomic
def administrator_ensure(*, username: str) -> tuple[User, str | None]:
    """Create superuser `username` with a random password, or leave an existing one untouched.

    Returns the user and the new password (only when created; it is stored nowhere in clear, so the
    caller shows it once). An existing administrator keeps the password its owner chose.
    """
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(18)
    user = User.objects.create_superuser(username=username, email="", password=password)
    return user, password


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

    With both, only that pair is cleared; with one, every record of that user (or that address).
    """
    if not username and not ip_address:
        raise ValueError("login_unlock needs a username or an address.")
    return axes_reset(username=username or None, ip=ip_address or None)
