"""A repository's password goes only to the server it was entered for, and only by SCRAM.

A listener speaks just enough of the PostgreSQL protocol to ask for the password in clear (what a hostile
server would do) and records every byte it receives: the password must never be among them.
"""

import socket
import struct
import threading

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from entrabackup import localdb, vault
from repositories import services
from repositories.errors import RepositoryError, RepositoryMisconfiguredError, RepositoryUnavailableError
from repositories.models import Repository

PASSWORD = "Repo-pw-that-must-not-leak"


class PasswordPhisher:
    """A fake PostgreSQL server on TCP 127.0.0.1 or a Unix socket that asks for a clear-text password."""

    def __init__(self, family=socket.AF_INET, address=("127.0.0.1", 0)):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.received = bytearray()
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    self._talk(conn)
                except OSError:
                    pass

    def _talk(self, conn):
        while True:
            data = conn.recv(65536)
            if not data:
                return
            self.received += data
            if data[4:8] == struct.pack("!I", 80877103):  # SSLRequest / GSSENCRequest: "no"
                conn.sendall(b"N")
            elif data[4:8] == struct.pack("!I", 80877104):
                conn.sendall(b"N")
            else:  # StartupMessage or anything else: ask for the password in clear
                conn.sendall(b"R" + struct.pack("!II", 8, 3))

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def phisher():
    listener = PasswordPhisher()
    yield listener
    listener.close()


@pytest.fixture
def server(db):
    return localdb.ensure_running(settings.LOCALDB_PGDATA)


@pytest.fixture
def scratch_database(server):
    name = "test_eb_binding_repository"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def repository(server, scratch_database):
    """A remote repository on a Unix socket (the local test server, which trusts the socket), with a password."""
    return services.repository_add(name="Remote", kind="remote", host=str(server.socket_dir), database=scratch_database,
                                   user="postgres", password=PASSWORD, sslmode="disable")


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user(username="mallory", password="pw", is_staff=True)
    for codename in ["view_tenant", "change_tenant", "test_connection", "view_repository", "change_repository"]:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_the_phisher_gets_a_password_that_is_sent_in_clear(phisher):
    """The trap itself works: libpq without our guards answers its request with the password."""
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=phisher.port, dbname="x", user="u", password="bait-pw",
                        sslmode="disable", connect_timeout=3)
    assert b"bait-pw" in phisher.received


def test_a_staff_user_cannot_redirect_the_password_through_the_admin(client, phisher, repository, staff):
    home = repository.host
    client.force_login(staff)
    url = reverse("admin:repositories_repository_change", args=[repository.pk])
    assert "needs the password again" in client.get(url).content.decode()
    client.post(url, {"name": "Remote", "kind": "remote", "database": repository.database, "host": "127.0.0.1",
                      "port": phisher.port, "user": "postgres", "sslmode": "disable", "_save": "Save"})
    repository.refresh_from_db()
    assert repository.host == home and repository.port is None
    client.post(reverse("repositories:repository_check", args=[repository.pk]))
    assert phisher.connections == 0 and PASSWORD.encode() not in phisher.received


def test_a_staff_user_cannot_redirect_the_password_through_the_pages(client, phisher, repository, staff):
    client.force_login(staff)
    response = client.post(reverse("repositories:repository_connection", args=[repository.pk]), {
        "database": repository.database, "host": "127.0.0.1", "port": phisher.port, "user": "postgres",
        "sslmode": "verify-full", "password": ""})
    assert response.status_code == 200
    assert "Enter the password" in response.content.decode()
    response = client.post(reverse("repositories:repository_connection", args=[repository.pk]), {
        "database": repository.database, "host": "127.0.0.1", "port": phisher.port, "user": "postgres",
        "sslmode": "disable", "password": "a-guess"})
    assert "verify-ca or verify-full" in response.content.decode()
    repository.refresh_from_db()
    assert repository.port is None
    assert phisher.connections == 0 and PASSWORD.encode() not in phisher.received


def test_a_password_kept_across_a_host_change_behind_the_products_back_does_not_open(client, phisher, repository, staff):
    Repository.objects.filter(pk=repository.pk).update(host="127.0.0.1", port=phisher.port, sslmode="disable")
    client.force_login(staff)
    page = client.post(reverse("repositories:repository_check", args=[repository.pk]), follow=True).content.decode()
    assert "another server" in page and PASSWORD not in page
    assert phisher.connections == 0
    repository.refresh_from_db()
    with pytest.raises(RepositoryMisconfiguredError, match="another server"):
        services.repository_conninfo(repository)


def test_a_sealed_password_moved_to_another_repository_does_not_open(repository, server):
    other = Repository.objects.create(name="Other", kind="remote", host=str(server.socket_dir), database="elsewhere",
                                      user="postgres", sslmode="disable", sealed_password=repository.sealed_password)
    with pytest.raises(RepositoryMisconfiguredError, match="another server") as caught:
        services.repository_conninfo(other)
    assert PASSWORD not in str(caught.value)
    with pytest.raises(vault.VaultError):
        vault.unseal(other.sealed_password, purpose=vault.purpose_of(Repository, "sealed_password"),
                     binding=other.vault_binding())


def test_a_unix_socket_server_that_asks_for_the_password_in_clear_does_not_get_it(tmp_path, repository, db):
    """SCRAM is required even on a socket: a hostile socket directory gets no password."""
    socket_dir = tmp_path / "sock"
    socket_dir.mkdir()
    listener = PasswordPhisher(socket.AF_UNIX, str(socket_dir / ".s.PGSQL.5432"))
    try:
        with pytest.raises(RepositoryUnavailableError):
            services.repository_set_connection(repository=repository, host=str(socket_dir), port=None,
                                               database="x", user="u", password=PASSWORD, sslmode="disable")
        assert listener.connections == 1 and b"user\x00u\x00" in listener.received
        assert PASSWORD.encode() not in listener.received
    finally:
        listener.close()


def test_remote_connections_use_scram_verifying_tls_and_keepalives(repository):
    repository.host, repository.port, repository.sslmode = "db.example.org", 5433, "verify-full"
    info = psycopg.conninfo.conninfo_to_dict(services.repository_conninfo(repository, password="p"))
    assert info["require_auth"] == "scram-sha-256" and info["sslmode"] == "verify-full"
    assert info["keepalives"] == "1" and int(info["keepalives_idle"]) <= 60
    assert int(info["keepalives_interval"]) > 0 and int(info["keepalives_count"]) > 0
    # The server's end too: it holds the tenant's lock for the session, so it must notice a vanished proxy.
    assert "-c tcp_keepalives_idle=30" in info["options"] and "-c tcp_user_timeout=60000" in info["options"]


@pytest.mark.parametrize("host, sslmode, message", [
    ("db.example.org", "disable", "verify-ca or verify-full"),
    ("db.example.org", "require", "verify-ca or verify-full"),
    ("db.example.org", "prefer", "verify-ca or verify-full"),
    ("db.example.org,evil.example", "verify-full", "one host"),
    ("relative/dir", "disable", "one host"),
])
def test_only_verifying_tls_over_tcp_and_plain_only_on_a_socket(db, host, sslmode, message):
    with pytest.raises(RepositoryError, match=message):
        services.repository_add(name="R", kind="remote", host=host, database="d", user="u", password="p",
                                sslmode=sslmode)
    assert not Repository.objects.exists()


def test_a_remote_repository_over_tcp_needs_a_password(db):
    with pytest.raises(RepositoryError, match="password"):
        services.repository_add(name="R", kind="remote", host="db.example.org", database="d", user="u",
                                sslmode="verify-full")


def test_a_repository_cannot_live_in_the_configuration_database(db, server):
    config_db = settings.DATABASES["default"]["NAME"]
    for name in {config_db, settings.LOCALDB_NAME, "postgres"}:
        with pytest.raises(RepositoryError, match="configuration database|PostgreSQL's own"):
            services.repository_add(name="Inside", database=name)
    with pytest.raises(RepositoryError, match="configuration database"):
        services.repository_add(name="Inside", kind="remote", host=str(server.socket_dir), database=config_db,
                                user="postgres", sslmode="disable")
    assert not Repository.objects.exists()


def test_a_repository_cannot_share_another_repositorys_database(repository, server):
    with pytest.raises(RepositoryError, match="already the database of repository 'Remote'"):
        services.repository_add(name="Twin", database=repository.database)
    with pytest.raises(RepositoryError, match="already the database of repository 'Remote'"):
        services.repository_add(name="Twin", kind="remote", host=str(server.socket_dir) + "/", port=5432,
                                database=repository.database, user="postgres", sslmode="disable")
