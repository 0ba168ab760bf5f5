"""Middleware of the login pages' edge."""

import re

from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.shortcuts import redirect

from accounts import second_factor

# Longer than any browser's User-Agent; django-axes keeps the first 255 characters of what is left.
USER_AGENT_MAX_LENGTH = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def user_agent_clean(get_response):
    """Remove control characters from the User-Agent header and cut it to USER_AGENT_MAX_LENGTH.

    The header is the client's word: django-axes stores it with every failed login, and PostgreSQL refuses a
    NUL byte in text, which made every login attempt carrying one a 500.
    """

    def middleware(request):
        agent = request.META.get("HTTP_USER_AGENT")
        if agent:
            request.META["HTTP_USER_AGENT"] = _CONTROL.sub("", agent)[:USER_AGENT_MAX_LENGTH]
        return get_response(request)

    return middleware


def second_factor_required(get_response):
    """A session logged in without its code (the admin's own login page, say) goes to the code step first.

    The product's login asks for the code before it logs anyone in; this catches every other way in. After
    django-otp's OTPMiddleware, which tells whether the session's code was checked (`user.is_verified()`).
    """

    def middleware(request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and second_factor.device_confirmed(user) is not None:
            next_url, backend = request.get_full_path(), request.session.get(BACKEND_SESSION_KEY)
            logout(request)
            second_factor.login_pending_start(request, user, next_url=next_url, backend=backend)
            return redirect("accounts:login_code")
        return get_response(request)

    return middleware
