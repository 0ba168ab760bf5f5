"""Every bad input seen in use gets a clear, specific error: never a 500 on a page, never a traceback from a command.

One table of the inputs (pages and commands alike); each row names what the user sends and the words the answer
must contain. The restore pages and restore_point_export read a real repository on the local PostgreSQL.
"""

import io
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from entrabackup import graph
from entrabackup.management.base import NOT_MIGRATED, ProductCommand
from jobs.management.commands import backup_run
from jobs.models import BackupJob, BackupSession
from jobs.services import job_create
from repositories.models import Repository
from repositories.services import repository_add, repository_store
from restore import selectors
from tenants import services as tenants_services
from tenants.errors import TenantValidationError
from tenants.models import Tenant
from tenants.services import tenant_create
from tests.support import processes
from tests.support.processes import ROOT, product_env

DIRECTORY = "contoso.example"


@pytest.fixture
def backed(db):
    """A tenant with a job on the local repository and one committed restore point holding two users."""
    tenant = tenant_create(name="Contoso", directory_id=DIRECTORY, client_id=str(uuid.uuid4()),
                           credential=graph.ClientSecret("s"))
    job = job_create(tenant=tenant, name="Contoso nightly")
    with repository_store(job.repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
        with store.session(str(tenant.key), f"test-{uuid.uuid4()}", kind="full") as writer:
            writer.put_full("user", [{"id": "u1", "displayName": "Ada", "userPrincipalName": "ada@contoso.example"},
                                     {"id": "u2", "displayName": "Grace", "userPrincipalName": "grace@contoso.example"}])
            point = writer.commit()
    return tenant, job, point


def _unreachable_repository(tenant) -> Repository:
    """A remote repository whose server socket does not exist, given to a second job of the tenant."""
    repository = Repository.objects.create(name="Gone", kind=Repository.Kind.REMOTE, database="gone",
                                           host="/nonexistent-socket-dir", user="entrabackup", sslmode="disable")
    BackupJob.objects.create(name="Contoso to Gone", tenant=tenant, repository=repository)
    return repository


PAGES = [
    # (what is tried, query or path, expected status, words of the answer)
    ("page of 30 digits", {"page": "9" * 30}, 400, "page: Ensure this value is less than or equal to 1000000"),
    ("page that is not a number", {"page": "two"}, 400, "page: Enter a whole number"),
    ("search with a NUL byte", {"q": "ad\x00a"}, 400, "q: Null characters are not allowed"),
    ("search with a control character", {"q": "ad\x1ba"}, 400, "cannot contain control characters"),
    ("search of 10000 characters", {"q": "a" * 10_000}, 400, "at most 200 characters"),
    ("unknown object type", {"type": "users'--"}, 400, "type: Select a valid choice"),
    ("restore point that is not one", {"rp": "1; DROP"}, 400, "is &#x27;latest&#x27; or &lt;repository&gt;:&lt;id&gt;"),
    ("restore point of 40 digits", {"rp": "9" * 40}, 400, "rp: A restore point is"),
    ("restore point of 400 characters", {"rp": "1:" * 200}, 400, "rp: Ensure this value has at most 40 characters"),
    ("restore point in no repository of the tenant", {"rp": "999999:1"}, 404, "has no restore point 999999:1"),
]


@pytest.mark.parametrize("what, query, status, words", PAGES, ids=[row[0] for row in PAGES])
def test_bad_query_parameters_of_the_object_explorer_get_a_clear_answer(client, admin_persona, backed, what, query,
                                                                        status, words):
    tenant, _, _ = backed
    client.force_login(admin_persona)
    response = client.get(reverse("restore:object_explorer", args=[tenant.pk]), query)
    assert response.status_code == status, what
    assert words in response.content.decode(), what


@pytest.mark.parametrize("object_type, object_id, words", [
    ("users", "u1", "Unknown object type"),
    ("user", "u1\x00", "cannot contain control characters"),
    ("user", "x" * 300, "too long"),
])
def test_bad_object_paths_get_a_400_that_says_why(client, admin_persona, backed, object_type, object_id, words):
    tenant, _, _ = backed
    client.force_login(admin_persona)
    response = client.get(reverse("restore:object_detail", args=[tenant.pk, object_type, object_id]))
    assert response.status_code == 400 and words in response.content.decode()


def test_good_parameters_still_show_the_objects_and_name_the_point_by_repository_and_id(client, admin_persona,
                                                                                      backed):
    tenant, job, point = backed
    client.force_login(admin_persona)
    spec = f"{job.repository.pk}:{point}"
    for query in ({}, {"rp": "latest"}, {"rp": spec}, {"rp": str(point)}, {"q": "ada", "type": "user", "page": "1"}):
        body = client.get(reverse("restore:object_explorer", args=[tenant.pk]), query).content.decode()
        assert "Ada" in body and f"?rp={spec}" in body, query
    detail = client.get(reverse("restore:object_detail", args=[tenant.pk, "user", "u1"]), {"rp": spec})
    assert detail.status_code == 200 and f"?rp={spec}" in detail.content.decode()


def test_a_restore_point_id_is_looked_up_in_the_named_repository_only(client, admin_persona, backed):
    tenant, job, point = backed
    other = repository_add(name="Other", database="test_entrabackup_other")
    BackupJob.objects.create(name="Contoso to Other", tenant=tenant, repository=other)
    client.force_login(admin_persona)
    url = reverse("restore:object_explorer", args=[tenant.pk])
    assert client.get(url, {"rp": f"{job.repository.pk}:{point}"}).status_code == 200
    missing = client.get(url, {"rp": f"{other.pk}:{point}"})
    assert missing.status_code == 404 and f"no restore point {other.pk}:{point}" in missing.content.decode()


def test_one_request_opens_one_store(client, admin_persona, backed, monkeypatch):
    tenant, job, point = backed
    opened = []
    real = selectors.repository_store
    monkeypatch.setattr(selectors, "repository_store", lambda repository: opened.append(repository.pk) or real(repository))
    client.force_login(admin_persona)
    for url in (reverse("restore:object_explorer", args=[tenant.pk]),
                reverse("restore:object_detail", args=[tenant.pk, "user", "u1"]),
                reverse("restore:restore_point_list", args=[tenant.pk])):
        opened.clear()
        assert client.get(url, {"rp": f"{job.repository.pk}:{point}"}).status_code == 200
        assert opened == [job.repository.pk], url


def test_an_unreachable_repository_is_a_page_with_its_reason_not_a_500(client, admin_persona, backed):
    tenant, _, _ = backed
    _unreachable_repository(tenant)
    client.force_login(admin_persona)
    for url in (reverse("restore:object_explorer", args=[tenant.pk]), reverse("restore:restore_point_list", args=[tenant.pk])):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "Cannot use the repository" in response.content.decode() and "unreachable" in response.content.decode()
    index = client.get(reverse("restore:restore_index"))
    assert index.status_code == 200 and "Cannot use the repository" in index.content.decode()


@pytest.mark.parametrize("kind", ["x" * 10_000, "fulll", "FULL"])
def test_run_now_with_an_unknown_kind_starts_nothing_and_says_why(client, admin_persona, backed, kind):
    _, job, _ = backed
    client.force_login(admin_persona)
    response = client.post(reverse("jobs:job_run", args=[job.pk]), {"kind": kind}, follow=True)
    assert response.status_code == 200
    assert "unknown kind of session; choose one of auto, full, incremental" in response.content.decode()
    assert not BackupSession.objects.exists()


JOB_FORM = {"tenant": None, "schedule_kind": "daily", "schedule_value": "02:00", "full_every_days": "7"}
JOB_INPUTS = [
    # (what, form fields, job_add options, words of both answers)
    ("negative retention", {"retention_days": "-5"}, ["--retention-days", "-5"], "Keep restore points for 1 to 36500 days"),
    ("zero restore points", {"retention_points": "0"}, ["--retention-points", "0"], "at least one restore point"),
    ("huge retention", {"retention_days": "9" * 20}, ["--retention-days", "9" * 20], "1 to 36500 days"),
    ("every 99999999999 hours", {"schedule_kind": "hours", "schedule_value": "99999999999"},
     ["--every-hours", "99999999999"], "at most 8760"),
    ("every 3 minutes", {"schedule_kind": "minutes", "schedule_value": "3"}, ["--every-minutes", "3"], "at least 5"),
    ("every 525601 minutes", {"schedule_kind": "minutes", "schedule_value": "525601"}, ["--every-minutes", "525601"],
     "at least 5 and at most 525600"),
    ("cron of 300 characters", {"schedule_kind": "cron", "schedule_value": "0 3 * * " + "1," * 150 + "2"},
     ["--cron", "0 3 * * " + "1," * 150 + "2"], "at most 100 characters"),
    ("full reconciliation every -1 days", {"full_every_days": "-1"}, ["--full-every-days", "-1"], "0 (never) to 3650"),
]


@pytest.mark.parametrize("what, fields, options, words", JOB_INPUTS, ids=[row[0] for row in JOB_INPUTS])
def test_job_settings_out_of_range_are_refused_by_the_form_and_the_command_alike(client, admin_persona, backed, what,
                                                                                 fields, options, words):
    tenant, _, _ = backed
    client.force_login(admin_persona)
    response = client.post(reverse("jobs:job_add"), {**JOB_FORM, "tenant": tenant.pk, "name": "New", **fields})
    assert response.status_code == 200 and words in response.content.decode(), what
    with pytest.raises(CommandError) as raised:
        call_command("job_add", "--tenant", tenant.name, "--name", "New", *options)
    assert words in str(raised.value)
    assert not BackupJob.objects.filter(name="New").exists()


def test_a_job_name_of_500_characters_is_refused_by_the_form_and_the_command(client, admin_persona, backed):
    tenant, _, _ = backed
    client.force_login(admin_persona)
    response = client.post(reverse("jobs:job_add"), {**JOB_FORM, "tenant": tenant.pk, "name": "n" * 500})
    assert response.status_code == 200 and "at most 100 characters" in response.content.decode()
    with pytest.raises(CommandError, match="--name: A job name is 1 to 100 printable characters"):
        call_command("job_add", "--tenant", tenant.name, "--name", "n" * 500)


FORMS = [
    # (what, page, fields, words of the answer, model that must stay empty of it)
    ("tenant name of 500 characters", "tenants:tenant_add", {"name": "t" * 500},
     "Ensure this value has at most 100 characters (it has 500)", Tenant),
    ("tenant id of 500 characters", "tenants:tenant_add", {"directory_id": "d" * 500},
     "Ensure this value has at most 255 characters (it has 500)", Tenant),
    ("repository name of 500 characters", "repositories:repository_add", {"name": "r" * 500},
     "Ensure this value has at most 100 characters (it has 500)", Repository),
    ("repository database of 500 characters", "repositories:repository_add", {"database": "b" * 500},
     "Ensure this value has at most 63 characters (it has 500)", Repository),
]
GOOD_FORMS = {
    "tenants:tenant_add": {"name": "Fabrikam", "directory_id": "fabrikam.example", "cloud": "global",
                           "client_id": "11111111-2222-3333-4444-555555555555", "credential_kind": "secret",
                           "client_secret": "s3cret", "features": ["directory_backup"]},
    "repositories:repository_add": {"name": "Scratch", "kind": "local", "database": "test_entrabackup_scratch",
                                    "sslmode": "verify-full"},
}


@pytest.mark.parametrize("what, page, fields, words, model", FORMS, ids=[row[0] for row in FORMS])
def test_too_long_values_on_the_add_pages_are_refused_by_the_form(client, admin_persona, what, page, fields, words,
                                                                   model):
    client.force_login(admin_persona)
    before = model.objects.count()
    response = client.post(reverse(page), {**GOOD_FORMS[page], **fields})
    assert response.status_code == 200 and words in response.content.decode(), what
    assert model.objects.count() == before


COMMANDS = [
    # (what, command line, words of the error)
    ("a good command, for contrast", ["job_list"], None),
    ("job for an unknown tenant", ["job_add", "--tenant", "Nobody"], "No tenant named 'Nobody'"),
    ("job on an unknown repository", ["job_add", "--tenant", "Contoso", "--repository", "Nowhere"],
     "No repository named 'Nowhere'"),
    ("job pinned to an unknown proxy", ["job_add", "--tenant", "Contoso", "--proxy", "ghost"], "No proxy named 'ghost'"),
    ("backup of an unknown job", ["backup_run", "--tenant", "Contoso", "--job", "Weekly"], "has no job named 'Weekly'"),
    ("tenant registered twice", ["tenant_add", "--name", "Contoso again", "--tenant-id", DIRECTORY.upper(),
                                 "--client-id", "11111111-2222-3333-4444-555555555555", "--client-secret-file", "{secret}"],
     "The directory contoso.example (global cloud) is already registered as tenant 'Contoso'"),
    ("tenant name of 500 characters", ["tenant_add", "--name", "t" * 500, "--tenant-id", "fabrikam.example",
                                       "--client-id", "11111111-2222-3333-4444-555555555555",
                                       "--client-secret-file", "{secret}"], "A tenant name is 1 to 100 printable characters"),
    ("CA bundle that cannot be read", ["tenant_add", "--name", "F", "--tenant-id", "fabrikam.example", "--client-id",
                                       "11111111-2222-3333-4444-555555555555", "--client-secret-file", "{secret}",
                                       "--ca-bundle", "/nonexistent/ca.pem"], "Cannot read the CA bundle"),
    ("export to a place that cannot be written", ["restore_point_export", "--tenant", "Contoso", "--restore-point",
                                                  "latest", "--output", "{file}/export"], "Cannot write the export to"),
    ("export into a folder of other files", ["restore_point_export", "--tenant", "Contoso", "--restore-point", "latest",
                                             "--output", "{notes}"], "holds files that are not an export"),
    ("export of a restore point that is not a number", ["restore_point_export", "--tenant", "Contoso",
                                                        "--restore-point", "last", "--output", "{tmp}/x"],
     "--restore-point is 'latest' or a restore point id"),
    ("export of a restore point that does not exist", ["restore_point_export", "--tenant", "Contoso",
                                                       "--restore-point", "999999999", "--output", "{tmp}/x"],
     "has no restore point 999999999"),
    ("export from an unknown repository", ["restore_point_export", "--tenant", "Contoso", "--restore-point", "latest",
                                           "--repository", "Nowhere", "--output", "{tmp}/x"], "No repository named"),
    ("purge of an unknown repository", ["repository_tenant_purge", "--repository", "Nowhere", "--tenant", "Contoso"],
     "No repository named 'Nowhere'"),
    ("test of a tenant named with a NUL byte", ["tenant_test", "--tenant", "\x00"], "No tenant named"),
    ("tenant name with a NUL byte", ["tenant_add", "--name", "a\x00b", "--tenant-id", "fabrikam.example", "--client-id",
                                     "11111111-2222-3333-4444-555555555555", "--client-secret-file", "{secret}"],
     "A tenant name is 1 to 100 printable characters"),
    ("job name with a NUL byte", ["job_add", "--tenant", "Contoso", "--name", "a\x00b"], "--name: A job name is"),
    ("backup of a job named with a NUL byte", ["backup_run", "--tenant", "Contoso", "--job", "\x00"], "has no job named"),
    ("every 525601 minutes", ["job_add", "--tenant", "Contoso", "--every-minutes", "525601"],
     "--every-minutes: Every N minutes: N must be a whole number of at least 5 and at most 525600 (got '525601')"),
    ("every 0 hours", ["job_add", "--tenant", "Contoso", "--every-hours", "0"],
     "--every-hours: Every N hours: N must be a whole number of at least 1 and at most 8760"),
    ("daily at 25:00", ["job_add", "--tenant", "Contoso", "--daily", "25:00"], "--daily: Daily: give the time as HH:MM"),
    ("cron of four fields", ["job_add", "--tenant", "Contoso", "--cron", "0 3 * *"], "--cron: Cron: give five fields"),
    ("tenant id of 500 characters", ["tenant_add", "--name", "F", "--tenant-id", "d" * 500, "--client-id",
                                     "11111111-2222-3333-4444-555555555555", "--client-secret-file", "{secret}"],
     "'" + "d" * 40 + "'… is neither a directory (tenant) ID"),
    ("client id of 500 characters", ["tenant_add", "--name", "F", "--tenant-id", "fabrikam.example", "--client-id",
                                     "c" * 500, "--client-secret-file", "{secret}"],
     "'" + "c" * 40 + "'… is not an application (client) ID"),
    ("administrator name of 151 characters", ["admin_ensure", "--username", "u" * 151],
     "--username: Ensure this value has at most 150 characters (it has 151)."),
    ("administrator name with a space", ["admin_ensure", "--username", "a b"], "--username: Enter a valid username"),
    ("unlock of an address out of range", ["login_unlock", "--ip", "999.1.1.1"],
     "'999.1.1.1' is not an IPv4 or IPv6 address"),
    ("unlock of an address that is not one", ["login_unlock", "--ip", "not-an-ip"],
     "'not-an-ip' is not an IPv4 or IPv6 address"),
    ("unlock of a user named with a NUL byte", ["login_unlock", "--username", "a\x00b"],
     "A user name has no control characters"),
]


@pytest.mark.parametrize("what, argv, words", COMMANDS, ids=[row[0] for row in COMMANDS])
def test_bad_command_input_is_one_clear_error(backed, tmp_path, what, argv, words):
    (tmp_path / "secret").write_text("s3cret")
    (tmp_path / "file").write_text("a file, not a folder")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("keep me")
    places = {"secret": tmp_path / "secret", "file": tmp_path / "file", "notes": tmp_path / "notes", "tmp": tmp_path}
    argv = [arg.format(**places) for arg in argv]
    if words is None:  # a control row: the command works
        call_command(*argv, stdout=io.StringIO())
    else:
        with pytest.raises(CommandError) as raised:
            call_command(*argv, stdout=io.StringIO(), stderr=io.StringIO())
        assert words in str(raised.value), what
    assert (tmp_path / "notes" / "notes.txt").read_text() == "keep me"


def test_an_export_from_an_unreachable_repository_is_one_clear_error(backed, tmp_path):
    tenant, _, _ = backed
    repository = _unreachable_repository(tenant)
    with pytest.raises(CommandError, match="Cannot use the repository .*unreachable"):
        call_command("restore_point_export", "--tenant", tenant.name, "--restore-point", "latest", "--repository",
                     repository.name, "--output", str(tmp_path / "x"))


def test_an_export_replaces_an_older_export_as_a_whole(backed, tmp_path):
    tenant, _, point = backed
    target = tmp_path / "export"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    (target / "device.json").write_text("[]")  # a type the new restore point does not have
    call_command("restore_point_export", "--tenant", tenant.name, "--restore-point", str(point),
                 "--output", str(target), stdout=io.StringIO())
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "user.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging folder left beside it


def test_backup_run_wait_says_at_once_that_no_proxy_runs_and_fails(backed, monkeypatch):
    tenant, _, _ = backed
    monkeypatch.setattr(backup_run, "PROXY_GRACE_SECONDS", 0.5)
    monkeypatch.setattr("jobs.services.session_enqueue", lambda session: None)  # no proxy takes it
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"No backup proxy has reported: start one with `manage.py qcluster`"):
        call_command("backup_run", "--tenant", tenant.name, "--wait", "--timeout", "10", stdout=io.StringIO(), stderr=err)
    assert "No backup proxy has reported" in err.getvalue()
    assert BackupSession.objects.get().status == BackupSession.Status.QUEUED  # it runs when a proxy starts


@pytest.mark.django_db(transaction=True)
def test_every_command_on_a_database_never_migrated_says_to_run_migrate():
    """Real processes against a real, empty PostgreSQL database on the test server."""
    name = f"test_unmigrated_{uuid.uuid4().hex[:8]}"
    params = {k: v for k, v in connection.get_connection_params().items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = processes.test_database_url().replace(f"/{connection.settings_dict['NAME']}", f"/{name}", 1)
        for argv in (["job_list"], ["backup_run", "--tenant", "x", "--wait"], ["admin_ensure"], ["secrets_key", "status"],
                     ["restore_point_export", "--tenant", "x", "--restore-point", "latest", "--output", "/tmp/x"]):
            done = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=product_env(DATABASE_URL=url),
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 1, (argv, done.stderr)
            assert NOT_MIGRATED in done.stderr and "Traceback" not in done.stderr, (argv, done.stderr)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# Every app of the product, with no exception: `localdb` reads no table and `demo` runs `migrate` itself, so
# neither meets a missing table, but the base names their other failures (an unreachable database) alike.
OUR_APPS = ("jobs", "tenants", "repositories", "restore", "accounts", "entrabackup", "dashboard")


def test_every_command_of_the_product_apps_uses_the_base_that_names_these_failures():
    commands = {name: app for name, app in get_commands().items() if app in OUR_APPS}
    assert {"job_add", "backup_run", "tenant_add", "restore_point_export", "admin_ensure", "login_unlock",
            "secrets_key", "localdb", "demo"} <= set(commands)
    for name, app in commands.items():
        assert isinstance(load_command_class(app, name), ProductCommand), name


def test_an_unreachable_configuration_database_is_one_line_without_a_traceback(tmp_path):
    """run_from_argv prints a CommandError as one line: the path every row above takes, shown here for real."""
    done = subprocess.run([sys.executable, "manage.py", "restore_point_export", "--tenant", "x", "--restore-point",
                           "soon", "--output", str(tmp_path)], cwd=ROOT, env=product_env(DATABASE_URL=_unused_url()),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("CommandError: Cannot reach the configuration database")


def _unused_url() -> str:
    return "postgres://nobody@/nowhere?host=" + str(Path("/nonexistent-socket-dir"))


def test_a_directory_registered_at_the_same_moment_is_the_same_clear_error(backed, monkeypatch):
    """The check passes for both registrations; the database's unique constraint stops the second one."""
    real, calls = tenants_services._check_unique, []
    monkeypatch.setattr(tenants_services, "_check_unique", lambda tenant: calls.append(1) if len(calls) == 0 else real(tenant))
    with pytest.raises(TenantValidationError, match="already registered as tenant 'Contoso'"):
        tenant_create(name="Contoso twin", directory_id=DIRECTORY, client_id=str(uuid.uuid4()),
                      credential=graph.ClientSecret("s"))
    assert calls == [1]


def test_secrets_key_with_a_key_that_is_not_one_says_which_variable_holds_it(db, monkeypatch):
    monkeypatch.setenv("ENTRABACKUP_SECRETS_KEY", "not-a-key")
    with pytest.raises(CommandError, match="ENTRABACKUP_SECRETS_KEY holds a key that is not 32 bytes of base64"):
        call_command("secrets_key", "status", stdout=io.StringIO(), stderr=io.StringIO())
