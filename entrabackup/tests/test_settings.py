"""Settings come from the environment; production refuses to start without its secrets."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from entrabackup.env import env_bool, env_int, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
PRINT = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY[:12], s.DATABASES['default']['NAME'])"
STRONG_KEY = "k3y-" + "0123456789abcdef" * 4  # 68 characters, 18 different
PRODUCTION = {"ENTRABACKUP_ENV": "production", "DJANGO_SECRET_KEY": STRONG_KEY,
              "DJANGO_ALLOWED_HOSTS": "backup.example.org"}


def _load_settings(tmp_path, print_code=PRINT, **env):
    """Import the settings in a fresh interpreter (they are read once, at import) with `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENTRABACKUP_", "DATABASE_URL"))}
    base.update({"DJANGO_SETTINGS_MODULE": "entrabackup.settings", "ENTRABACKUP_VAR_DIR": str(tmp_path / "var"),
                 "ENTRABACKUP_LOCALDB_AUTOSTART": "0"})
    base.update(env)
    code = f"import django; django.setup(); {print_code}"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_production_without_a_secret_key_names_the_missing_variable(tmp_path):
    run = _load_settings(tmp_path, ENTRABACKUP_ENV="production", DJANGO_ALLOWED_HOSTS="backup.example.org")
    assert run.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set when ENTRABACKUP_ENV=production" in run.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_without_allowed_hosts_is_refused(tmp_path):
    run = _load_settings(tmp_path, ENTRABACKUP_ENV="production", DJANGO_SECRET_KEY=STRONG_KEY)
    assert "DJANGO_ALLOWED_HOSTS must be set" in run.stderr


@pytest.mark.parametrize(("environment", "key"), [
    ("production", "short-but-set"),
    ("production", "x" * 64),  # long, but only one character repeated
    ("production", "django-insecure-" + "0123456789abcdefghijklmnopqrstuvwxyz"),  # startproject's placeholder
    ("local", "short-but-set"),  # a key given in a local run is held to the same rule
])
def test_a_weak_secret_key_is_refused_without_repeating_it(tmp_path, environment, key):
    run = _load_settings(tmp_path, **{**PRODUCTION, "ENTRABACKUP_ENV": environment, "DJANGO_SECRET_KEY": key})
    assert run.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is too weak: use at least 50 characters" in run.stderr
    assert key not in run.stderr


SECURITY = ("from django.conf import settings as s; print(repr((s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
            "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, "
            "s.SESSION_COOKIE_AGE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)))")


def test_production_turns_https_protections_on_by_default(tmp_path):
    run = _load_settings(tmp_path, SECURITY, **PRODUCTION)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        "(True, 31536000, True, ('HTTP_X_FORWARDED_PROTO', 'https'), True, 28800, True, 5, "
        "datetime.timedelta(seconds=900))")


def test_a_local_run_keeps_plain_http_working(tmp_path):
    run = _load_settings(tmp_path, SECURITY)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith("(False, 0, False, None, False, 28800, True, 5,")


def test_security_settings_follow_the_environment(tmp_path):
    run = _load_settings(tmp_path, SECURITY, **PRODUCTION, DJANGO_SECURE_SSL_REDIRECT="false",
                         DJANGO_SECURE_HSTS_SECONDS="600", DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="no",
                         DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl-Scheme", DJANGO_SECURE_COOKIES="0",
                         DJANGO_SESSION_COOKIE_AGE="3600", ENTRABACKUP_LOGIN_FAILURE_LIMIT="3",
                         ENTRABACKUP_LOGIN_COOLOFF_MINUTES="0")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        "(False, 600, False, ('HTTP_X_FORWARDED_SSL_SCHEME', 'https'), False, 3600, True, 3, None)")
    run = _load_settings(tmp_path, SECURITY, **PRODUCTION, DJANGO_SECURE_PROXY_SSL_HEADER="off")
    assert ", None, True, 28800," in run.stdout


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Proto: https", "DJANGO_SECURE_PROXY_SSL_HEADER must be a header name"),
    ("DJANGO_SECURE_HSTS_SECONDS", "-1", "DJANGO_SECURE_HSTS_SECONDS must be at least 0"),
    ("DJANGO_SESSION_COOKIE_AGE", "0", "DJANGO_SESSION_COOKIE_AGE must be at least 60"),
    ("ENTRABACKUP_LOGIN_FAILURE_LIMIT", "0", "ENTRABACKUP_LOGIN_FAILURE_LIMIT must be at least 1"),
    ("ENTRABACKUP_LOGIN_COOLOFF_MINUTES", "soon", "ENTRABACKUP_LOGIN_COOLOFF_MINUTES must be an integer"),
    ("ENTRABACKUP_REVERSE_PROXY_COUNT", "-2", "ENTRABACKUP_REVERSE_PROXY_COUNT must be at least 0"),
])
def test_a_bad_security_setting_names_the_variable(tmp_path, variable, value, message):
    run = _load_settings(tmp_path, **PRODUCTION, **{variable: value})
    assert run.returncode != 0
    assert f"ImproperlyConfigured: {message}" in run.stderr


def _check_deploy(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENTRABACKUP_", "DATABASE_URL"))}
    base.update({"ENTRABACKUP_VAR_DIR": str(tmp_path / "var"), "ENTRABACKUP_LOCALDB_AUTOSTART": "0", **env})
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    run = _check_deploy(tmp_path, **PRODUCTION)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout
    assert "WARNINGS" not in run.stdout + run.stderr


def test_check_deploy_notices_a_protection_turned_off(tmp_path):
    """The check above can fail: production without the HTTPS redirect is reported."""
    run = _check_deploy(tmp_path, **PRODUCTION, DJANGO_SECURE_SSL_REDIRECT="false")
    assert run.returncode != 0
    assert "security.W008" in run.stdout + run.stderr


def test_local_run_generates_a_private_secret_key_once(tmp_path):
    first = _load_settings(tmp_path)
    second = _load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.stdout == second.stdout  # the same key is reused
    assert first.stdout.split()[0] == "False"  # DEBUG is off unless asked for


def test_debug_is_on_only_when_asked_for_and_a_bad_value_is_an_error(tmp_path):
    assert _load_settings(tmp_path, DJANGO_DEBUG="true").stdout.split()[0] == "True"
    run = _load_settings(tmp_path, DJANGO_DEBUG="maybe")
    assert "DJANGO_DEBUG must be one of" in run.stderr


def test_database_url_is_used_instead_of_the_local_server(tmp_path):
    run = _load_settings(tmp_path, ENTRABACKUP_LOCALDB_AUTOSTART="1", DATABASE_URL="postgres://u:p@db.example.org:5433/entra")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[2] == "entra"
    assert not (tmp_path / "var" / "pg").exists()  # nothing local was started


def test_parse_database_url_handles_tcp_sockets_and_options():
    db = parse_database_url("postgresql://backup:s%40cret@db.example.org:5433/entra?sslmode=verify-full")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "backup", "s@cret", "db.example.org", "5433", "entra")
    assert db["OPTIONS"] == {"sslmode": "verify-full"}
    socket = parse_database_url("postgres://postgres@/config?host=/run/pg")
    assert socket["HOST"] == "/run/pg" and socket["NAME"] == "config"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgres://u@h/", "not a url"])
def test_parse_database_url_rejects_what_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url(url)


def test_env_helpers_parse_strictly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    monkeypatch.setenv("X_NUM", "12x")
    assert env_bool("X_FLAG") is True
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env_int("X_NUM", 1)
