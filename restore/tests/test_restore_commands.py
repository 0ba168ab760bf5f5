"""restore_plan and restore_apply answer bad input with one clear line, never a traceback."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from entrabackup import graph
from tenants.services import tenant_create


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


def test_restore_plan_refuses_a_type_the_restore_does_not_write(tenant, tmp_path):
    with pytest.raises(CommandError, match="device are not written back by the restore feature"):
        call_command("restore_plan", "--tenant", "Contoso", "--types", "device", "--output", str(tmp_path / "p.json"))


def test_restore_plan_refuses_something_that_is_not_an_id(tenant, tmp_path):
    with pytest.raises(CommandError, match="is not an object id"):
        call_command("restore_plan", "--tenant", "Contoso", "--ids", "../x", "--output", str(tmp_path / "p.json"))


def test_restore_plan_refuses_a_short_password_file(tenant, tmp_path):
    (tmp_path / "pw").write_text("short\n")
    with pytest.raises(CommandError, match="at least 8 characters"):
        call_command("restore_plan", "--tenant", "Contoso", "--all", "--password-file", str(tmp_path / "pw"),
                     "--output", str(tmp_path / "p.json"))


@pytest.mark.parametrize("content, message", [
    (None, "Cannot read the plan"), ("{not json", "not a restore plan"), ('{"format": "x"}', "Not a restore plan"),
])
def test_restore_apply_refuses_what_is_not_a_plan(db, tmp_path, content, message):
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("restore_apply", str(path), "--reason", "x")


def test_restore_apply_refuses_an_edited_plan(db, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": "entrabackup-restore-plan/1", "steps": [], "plan_id": "0" * 32}))
    with pytest.raises(CommandError, match="changed after it was made"):
        call_command("restore_apply", str(path), "--reason", "x")
