from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_locked(request: HttpRequest, original_response: HttpResponse | None = None,
                 credentials: dict | None = None) -> HttpResponse:
    """The page django-axes answers with (AXES_LOCKOUT_CALLABLE) when a login is refused by the throttle.

    Every refused attempt starts the cool-off again, so the wait is the whole cool-off from now.
    """
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(request, "accounts/login_locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
