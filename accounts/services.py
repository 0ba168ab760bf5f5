"""Services for operator accounts."""

import secrets

from django.db import transaction

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
