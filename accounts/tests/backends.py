"""Test-only authentication backend (used by entrabackup/settings_test.py)."""

from axes.backends import AxesStandaloneBackend


class AxesBackendForTestClient(AxesStandaloneBackend):
    """The login throttle, except for Django's test client `login()`, which authenticates without a request.

    Every login that comes through a page (the test client's `post`, a browser) carries its request and is
    throttled exactly as in production.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
