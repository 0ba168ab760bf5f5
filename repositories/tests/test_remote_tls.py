"""A remote repository over TCP for real: Debian's PostgreSQL with TLS and SCRAM on 127.0.0.1.

The embedded PostgreSQL has no TLS, so this starts the distribution's server (skipped where it is missing)
with a certificate for 127.0.0.1/localhost signed by a CA of the test's own.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from graph_emulator.pki import ensure_pki
from repositories import services
from repositories.errors import RepositoryUnavailableError

# Debian's server (whatever major version the release ships); .ci/run installs it.
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/missing/bin"),
             key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
RUN_AS = "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_pg(*args, **kwargs):
    return subprocess.run(["runuser", "-u", RUN_AS, "--", *map(str, args)], check=True, capture_output=True,
                          text=True, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def tls_server():
    if not (PG_BIN / "postgres").exists() or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs Debian's postgresql package and root (to run it as the postgres user)")
    base = Path(tempfile.mkdtemp(prefix="eb-pg-tls-"))  # pytest's own tmp root is closed to other users
    os.chmod(base, 0o711)  # noqa: S103 - the postgres user only traverses it to reach its own folders
    pki = ensure_pki(base)
    data, sockets = base / "data", base / "sock"
    for path in (data, sockets):
        path.mkdir()
        shutil.chown(path, RUN_AS)
    _as_pg(PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256")
    key = data / "server.key"
    key.write_bytes(pki.key_path.read_bytes())
    shutil.copy(pki.cert_path, data / "server.crt")
    for path in (key, data / "server.crt"):
        shutil.chown(path, RUN_AS)
    os.chmod(key, 0o600)
    (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
    port = _free_port()
    _as_pg(PG_BIN / "pg_ctl", "-D", data, "-w", "-l", sockets / "log", "-o",
           f"-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c listen_addresses=127.0.0.1 "
           f"-c port={port} -c unix_socket_directories={sockets}", "start")
    try:
        with psycopg.connect(host=str(sockets), port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE ROLE backup LOGIN PASSWORD 'Tls-and-scram-pw'")
            conn.execute("CREATE DATABASE entra_remote OWNER backup")
        yield {"port": port, "ca_pem": pki.ca_path.read_text()}
    finally:
        _as_pg(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_a_remote_repository_over_verified_tls_and_scram_is_added_and_used(tls_server, db):
    repository = services.repository_add(
        name="Remote TLS", kind="remote", host="localhost", port=tls_server["port"], database="entra_remote",
        user="backup", password="Tls-and-scram-pw", sslmode="verify-full", ssl_root_cert_pem=tls_server["ca_pem"])
    assert repository.schema_version >= 1
    with psycopg.connect(services.repository_conninfo(repository)) as conn:
        # pg_hba.conf admits only hostssl + scram-sha-256: being in means TLS and SCRAM were used.
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
        assert conn.info.parameter_status("server_version").startswith(PG_BIN.parent.name)
        # The server's keepalives, so that a proxy host that vanishes stops holding its tenant's lock.
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                     "('tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count',"
                                     " 'tcp_user_timeout')").fetchall())
        assert settings == {name: str(value) for name, value in services.SERVER_KEEPALIVES.items()}


def test_a_server_whose_certificate_is_not_from_the_given_ca_is_refused(tls_server, db, tmp_path):
    other_ca = ensure_pki(tmp_path).ca_path.read_text()
    with pytest.raises(RepositoryUnavailableError) as caught:
        services.repository_add(
            name="Wrong CA", kind="remote", host="127.0.0.1", port=tls_server["port"], database="entra_remote",
            user="backup", password="Tls-and-scram-pw", sslmode="verify-full", ssl_root_cert_pem=other_ca)
    assert "certificate" in str(caught.value) and "Tls-and-scram-pw" not in str(caught.value)
