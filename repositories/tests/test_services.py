"""Adding repositories: checked and prepared before they are saved; clear errors; sealed passwords."""

import psycopg
import pytest
from django.conf import settings
from django.urls import reverse

from entrabackup import localdb
from repositories import services
from repositories.errors import RepositoryError, RepositoryMisconfiguredError, RepositoryUnavailableError
from repositories.models import Repository


@pytest.fixture
def server(db):
    return localdb.ensure_running(settings.LOCALDB_PGDATA)


@pytest.fixture
def scratch_database(server):
    name = "test_eb_scratch_repository"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute("DROP ROLE IF EXISTS eb_reader")


def test_a_local_repository_is_created_and_its_schema_prepared(server, scratch_database):
    repository = services.repository_add(name="Scratch", database=scratch_database)
    assert repository.pk and repository.schema_version >= 1 and repository.server_version.startswith("18")
    with services.repository_store(repository) as store:
        assert store.schema_version() == repository.schema_version


def test_a_remote_repository_keeps_its_password_sealed(server, scratch_database):
    repository = services.repository_add(name="Remote", kind="remote", host=str(server.socket_dir), port=5432,
                                         database=scratch_database, user="postgres", password="S3cret-pw!",
                                         sslmode="disable")
    assert "S3cret-pw!" not in repository.sealed_password
    assert "password=S3cret-pw!" in services.repository_conninfo(repository)  # for the driver only


def test_an_unreachable_repository_is_a_clear_error_and_nothing_is_saved(db):
    with pytest.raises(RepositoryUnavailableError) as caught:
        services.repository_add(name="Nowhere", kind="remote", host="/nonexistent/socket/dir", database="x",
                                user="backup", password="hunter2-secret", sslmode="disable")
    assert "Nowhere" in str(caught.value) and "hunter2-secret" not in str(caught.value)
    assert not Repository.objects.exists()


def test_a_user_who_cannot_create_tables_is_refused(server, scratch_database):
    with psycopg.connect(server.conninfo(scratch_database), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS eb_reader")
        conn.execute("CREATE ROLE eb_reader LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    with pytest.raises(RepositoryMisconfiguredError, match="Repository ReadOnly"):
        services.repository_add(name="ReadOnly", kind="remote", host=str(server.socket_dir), database=scratch_database,
                                user="eb_reader", sslmode="disable")
    assert not Repository.objects.exists()


def test_bad_names_and_missing_fields_are_refused(db):
    with pytest.raises(RepositoryError, match="lower-case letters"):
        services.repository_add(name="Bad", database="Robert'); DROP TABLE students;--")
    with pytest.raises(RepositoryError, match="needs a host, a database and a user"):
        services.repository_add(name="Half", kind="remote", database="x")


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", [200, 200, 200]), ("viewer_persona", [200, 403, 403]), ("outsider_persona", [403, 403, 403]),
])
def test_role_matrix_for_repository_pages(client, request, db, persona, expected):
    repository = Repository.objects.create(name="R", database="r")
    client.force_login(request.getfixturevalue(persona))
    urls = [reverse("repositories:repository_list"), reverse("repositories:repository_add"),
            reverse("repositories:repository_connection", args=[repository.pk])]
    assert [client.get(url).status_code for url in urls] == expected
