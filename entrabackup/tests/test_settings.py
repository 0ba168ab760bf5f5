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


def _load_settings(tmp_path, **env):
    """Import the settings in a fresh interpreter (they are read once, at import) with `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENTRABACKUP_", "DATABASE_URL"))}
    base.update({"DJANGO_SETTINGS_MODULE": "entrabackup.settings", "ENTRABACKUP_VAR_DIR": str(tmp_path / "var"),
                 "ENTRABACKUP_LOCALDB_AUTOSTART": "0"})
    base.update(env)
    code = f"import django; django.setup(); {PRINT}"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_production_without_a_secret_key_names_the_missing_variable(tmp_path):
    run = _load_settings(tmp_path, ENTRABACKUP_ENV="production", DJANGO_ALLOWED_HOSTS="backup.example.org")
    assert run.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set when ENTRABACKUP_ENV=production" in run.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_without_allowed_hosts_is_refused(tmp_path):
    run = _load_settings(tmp_path, ENTRABACKUP_ENV="production", DJANGO_SECRET_KEY="x" * 50)
    assert "DJANGO_ALLOWED_HOSTS must be set" in run.stderr


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
