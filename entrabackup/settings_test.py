"""Settings for the test suite: the product's settings with test-only speed-ups.

Static files use the plain storage (pytest-django forces DEBUG off, and the manifest storage would
need `collectstatic` before every run); passwords hash with a fast hasher.
"""

from entrabackup.settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRETS_KEY_FILE = VAR_DIR / "test-secrets.key"  # noqa: F405 - never the key of a local installation
# Serve static files from the app folders (no collectstatic before tests); nothing is collected into var/.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
REPOSITORY_DEFAULT_DATABASE = "test_entrabackup_repository"  # never the local installation's repository
# Django's test client `login()` authenticates without a request, which django-axes refuses; this backend
# lets it through and throttles every login made through a page, as in production.
AUTHENTICATION_BACKENDS = ["accounts.tests.backends.AxesBackendForTestClient", *AUTHENTICATION_BACKENDS[1:]]  # noqa: F405
# Never the local installation's log repositories; tests that add some use their own roots (tmp_path).
LOG_REPOSITORY_ROOTS = [VAR_DIR / "test-log-repositories"]  # noqa: F405
LOG_REPOSITORY_MIN_FREE_BYTES = 1024 * 1024
# The audit trail's table refuses TRUNCATE (audittrail migration 0001) except on a connection that sets this;
# Django's flush between transactional tests truncates every table.
_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
_OPTIONS["options"] = f"{_OPTIONS.get('options', '')} -c entrabackup.audittrail_truncate=allow".strip()
