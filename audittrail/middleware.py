"""Middleware that lets `audittrail.trail.record` know the request it is recorded for."""

from audittrail.trail import Context, acting


def audit_context(get_response):
    """Attribute everything recorded while a request is served to that request (its user, address, agent)."""

    def middleware(request):
        with acting(Context(request=request)):
            return get_response(request)

    return middleware
