"""Middleware of the login pages' edge."""

import re

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
