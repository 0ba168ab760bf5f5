"""`manage.py compare` and the compare page: every wrong argument or parameter gets an answer that names it."""

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from entrabackup import graph
from jobs.services import job_create
from repositories.services import repository_store
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


@pytest.fixture
def backed(tenant):
    """One committed restore point in the tenant's local repository."""
    job = job_create(tenant=tenant, name="Contoso nightly")
    with repository_store(job.repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
        with store.session(str(tenant.key), f"test-{uuid.uuid4()}", kind="full") as writer:
            writer.put_full("user", [{"id": "u1", "displayName": "Ada", "userPrincipalName": "ada@contoso.example"}])
            point = writer.commit()
    return tenant, f"{job.repository.pk}:{point}"


PAGE_QUERIES = [
    ("from that is not a restore point", {"from": "1; DROP"}, 400, "from: A restore point is"),
    ("to that is neither", {"to": "tomorrow"}, 400, "to: A restore point is"),
    ("unknown type", {"type": "usr"}, 400, "type: Select a valid choice"),
    ("unknown change", {"change": "moved"}, 400, "change: Select a valid choice"),
    ("page zero", {"page": "0"}, 400, "page: Ensure this value is greater than or equal to 1"),
    ("object id with a control character", {"object": "u\x1b1"}, 400, "cannot contain control characters"),
    ("restore point of no repository", {"from": "999999:1"}, 404, "has no restore point 999999:1"),
    ("nothing before the only restore point", {}, 400, "is the first of its repository"),
]


@pytest.mark.parametrize("what, query, status, words", PAGE_QUERIES, ids=[row[0] for row in PAGE_QUERIES])
def test_bad_query_parameters_of_the_compare_page_get_a_clear_answer(client, admin_persona, backed, what, query,
                                                                     status, words):
    tenant, _ = backed
    client.force_login(admin_persona)
    for name in ("restore:compare_view", "restore:compare_export"):
        response = client.get(reverse(name, args=[tenant.pk]), query)
        assert response.status_code == status, what
        assert words in response.content.decode(), what


def test_a_restore_point_compared_with_itself_shows_no_difference(client, admin_persona, backed):
    tenant, spec = backed
    client.force_login(admin_persona)
    page = client.get(reverse("restore:compare_view", args=[tenant.pk]), {"from": spec, "to": spec})
    assert page.status_code == 200 and "No difference." in page.content.decode()
    export = client.get(reverse("restore:compare_export", args=[tenant.pk]), {"from": spec, "to": spec, "format": "json"})
    assert export.json()["changes"] == [] and export.json()["from"] == spec
