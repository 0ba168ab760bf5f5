"""`manage.py compare`: every wrong argument ends in one line that names it (no traceback)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from entrabackup import graph
from tenants.services import tenant_create


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.mark.parametrize("args, message", [
    (["--tenant", "Fabrikam"], "No tenant named 'Fabrikam'"),
    (["--from", "one"], "--from: A restore point is 'latest' or <repository>:<id>"),
    (["--to", "yesterday"], "--to: A restore point is 'latest' or <repository>:<id>"),
    (["--types", "user,usr"], "--types: unknown object type 'usr'"),
    (["--format", "xml"], "invalid choice: 'xml'"),
    ([], "Tenant Contoso has no restore point yet."),
])
def test_compare_command_names_what_is_wrong(tenant, tmp_path, args, message):
    base = {"--tenant": "Contoso", "--from": "latest", "--to": "production", "--format": "json",
            "--output": str(tmp_path / "report.json")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace("[", r"\[")):
        call_command("compare", *argv)
    assert not (tmp_path / "report.json").exists()
