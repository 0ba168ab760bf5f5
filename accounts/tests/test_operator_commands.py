"""`operator_add` and `operator_list`: roles and tenant scopes from the command line, clear errors, no password shown."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import access
from accounts.models import RoleAssignment, User
from entrabackup import graph
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-lantern-92"
HOSTILE = "Fabrikam <b>\"red\"</b>"


@pytest.fixture
def tenants():
    return [tenant_create(name=name, directory_id=directory, client_id="11111111-2222-3333-4444-555555555555",
                          credential=graph.ClientSecret("s"))
            for name, directory in (("Contoso", "contoso.example"), (HOSTILE, "fabrikam.example"))]


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return str(path)


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_operator_add_creates_a_user_limited_to_the_named_tenants(tenants, password_file):
    output = _run("operator_add", "--username", "rita", "--role", "restore", "--tenants", "CONTOSO",
                  "--password-file", password_file)
    user = User.objects.get(username="rita")
    assert user.check_password(PASSWORD) and not user.is_staff and PASSWORD not in output
    assert "Restore operator on Contoso" in output
    assert list(access.tenants_for(user, "restore.run_restore")) == [tenants[0]]


def test_tenants_are_named_by_tenant_id_too_and_a_role_again_replaces_its_scope(tenants, password_file):
    _run("operator_add", "--username", "bob", "--role", "backup", "--tenants", "contoso.example",
         "--password-file", password_file)
    output = _run("operator_add", "--username", "bob", "--role", "backup", "--tenants", "fabrikam.example")
    assert "now has role Backup operator" in output
    user = User.objects.get(username="bob")
    assert list(access.tenants_for(user, "jobs.run_backup")) == [tenants[1]]
    assert RoleAssignment.objects.filter(user=user).count() == 1 and user.check_password(PASSWORD)


def test_an_administrator_for_every_tenant_may_use_the_admin(tenants, password_file):
    _run("operator_add", "--username", "ada", "--role", "administrator", "--password-file", password_file)
    user = User.objects.get(username="ada")
    assert user.is_staff and not user.is_superuser and user.has_perm("tenants.add_tenant")


@pytest.mark.parametrize("args, message", [
    (["--role", "viewer", "--tenants", "Nowhere"], "no tenant is named 'Nowhere'"),
    (["--role", "viewer", "--tenants", " , "], "name at least one tenant"),
    (["--role", "viewer"], "a password is needed to create it"),
    (["--role", "viewer", "--password-file", "/nonexistent/pw"], "cannot read '/nonexistent/pw'"),
])
def test_bad_arguments_are_one_clear_line(tenants, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("operator_add", "--username", "vic", *args)
    assert not User.objects.filter(username="vic").exists()


def test_an_unknown_role_is_refused_by_the_parser(tenants):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("operator_add", "--username", "vic", "--role", "root")


def test_a_weak_password_is_refused_with_the_rules_and_never_shown(tenants, tmp_path):
    weak = tmp_path / "weak"
    weak.write_text("vic12345\n")
    with pytest.raises(CommandError) as caught:
        call_command("operator_add", "--username", "vic", "--role", "viewer", "--password-file", str(weak))
    assert "The password is refused" in str(caught.value) and "vic12345" not in str(caught.value)
    assert not User.objects.filter(username="vic").exists()


def test_an_empty_password_file_is_refused(tenants, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(CommandError, match="the file is empty"):
        call_command("operator_add", "--username", "vic", "--role", "viewer", "--password-file", str(empty))


def test_operator_list_shows_roles_scopes_and_the_local_administrator(tenants, password_file):
    User.objects.create_superuser(username="admin", password=PASSWORD)
    _run("operator_add", "--username", "vic", "--role", "viewer", "--tenants", "fabrikam.example",
         "--password-file", password_file)
    _run("operator_add", "--username", "vic", "--role", "restore", "--tenants", "Contoso")
    lines = _run("operator_list").splitlines()
    assert lines[0].split() == ["USER", "ROLES", "(TENANTS)", "LAST", "LOGIN", "TOTP", "STATE"]
    admin = next(line for line in lines if line.startswith("admin "))
    vic = next(line for line in lines if line.startswith("vic "))
    assert "Local administrator" in admin and "never" in admin and "active" in admin
    assert "Restore operator (Contoso)" in vic and 'Viewer (Fabrikam <b>"red"</b>)' in vic
