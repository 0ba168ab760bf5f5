"""Renaming, disabling and removing repositories and log repositories (pages and commands)."""

import json
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from approvals.models import ApprovalRequest, ApprovalSwitch
from approvals.services import approval_approve
from entrabackup import graph
from jobs.logbackup.services import log_job_create
from jobs.services import job_create, jobs_run_due
from repositories.log_services import log_repository_add, log_repository_open
from repositories.models import LogRepository, Repository
from repositories.services import repository_default, repository_store
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT, credential=graph.ClientSecret("s"))


@pytest.fixture
def full_repository(tenant, clean_repository_database):
    """The local repository holding one restore point of the tenant, used by no job."""
    repository = repository_default()
    with repository_store(repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
        with store.session(str(tenant.key), f"test-{uuid.uuid4()}", kind="full") as writer:
            writer.put_full("user", [{"id": "u1", "displayName": "Ada"}])
            writer.commit()
    return repository


@pytest.fixture
def log_repository(tenant, tmp_path, settings):
    """A log repository holding one chunk of the tenant."""
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    repository = log_repository_add(name="Cold <b>logs</b>", kind="directory", path=str(tmp_path / "cold"),
                                    retention_days=90)
    with log_repository_open(repository) as store:
        store.write_chunk(tenant=str(tenant.key), log_type="directoryAudits", day=date(2026, 11, 30), session="t1",
                          records=[{"id": "a1", "activityDateTime": "2026-11-30T10:00:00Z"}])
    return repository


def _points(repository, tenant):
    with repository_store(repository) as store:
        return len(store.restore_points(str(tenant.key)))


def test_a_repository_used_by_a_job_cannot_be_removed(client, admin_persona, tenant, full_repository):
    job_create(tenant=tenant, name="Nightly")
    client.force_login(admin_persona)
    url = reverse("repositories:repository_remove", args=[full_repository.pk])
    assert "Used by Nightly" in client.get(url).content.decode()
    page = client.post(url, {"data": "detach"}).content.decode()
    assert "is used by Nightly" in page and Repository.objects.filter(pk=full_repository.pk).exists()


def test_removing_a_repository_with_restore_points_detaches_or_erases_with_the_typed_name(
        client, admin_persona, tenant, full_repository):
    client.force_login(admin_persona)
    url = reverse("repositories:repository_remove", args=[full_repository.pk])
    assert "1 restore points of Contoso" in client.get(url).content.decode()
    assert "choose to detach it" in client.post(url, {}).content.decode()
    assert "Type the repository" in client.post(url, {"data": "erase", "confirm": "local repository"}).content.decode()
    assert client.post(url, {"data": "erase", "confirm": "Local repository"}).status_code == 302
    assert not Repository.objects.exists()
    assert _points(repository_default(), tenant) == 0  # the same database, added again: erased


def test_detaching_a_repository_leaves_its_data(tenant, full_repository):
    call_command("repository_remove", "--name", "Local repository", "--data", "detach", "--yes")
    assert not Repository.objects.exists()
    assert _points(repository_default(), tenant) == 1  # added again, it finds the restore point


def test_edit_page_renames_and_disables_a_repository(client, admin_persona, tenant, full_repository):
    job = job_create(tenant=tenant, name="Nightly", schedule_kind="minutes", schedule_value="5")
    client.force_login(admin_persona)
    assert client.post(reverse("repositories:repository_edit", args=[full_repository.pk]),
                       {"name": "Primary <i>DB</i>"}).status_code == 302
    full_repository.refresh_from_db()
    assert (full_repository.name, full_repository.enabled) == ("Primary <i>DB</i>", False)
    page = client.get(reverse("repositories:repository_list")).content.decode()
    assert "Primary &lt;i&gt;DB&lt;/i&gt;" in page and "<i>DB</i>" not in page
    type(job).objects.filter(pk=job.pk).update(next_run_at="2000-01-01T00:00Z")
    assert jobs_run_due() == []  # a disabled repository's jobs are not scheduled
    assert repository_default() == full_repository  # the default repository renamed is still the default


def test_log_repository_edit_changes_retention_and_hint_but_not_encryption(client, admin_persona, log_repository):
    client.force_login(admin_persona)
    url = reverse("repositories:log_repository_edit", args=[log_repository.pk])
    assert "fixed when" in client.get(url).content.decode()
    assert client.post(url, {"name": "Cold", "enabled": "on", "retention_days": 400, "password_hint": "vault 7"}).status_code == 302
    log_repository.refresh_from_db()
    assert (log_repository.name, log_repository.retention_days, log_repository.password_hint) == ("Cold", 400, "vault 7")
    assert "Ensure this value" in client.post(url, {"name": "Cold", "retention_days": 0}).content.decode()


def test_log_repository_removal_is_refused_while_a_log_job_uses_it_then_erases(client, admin_persona, tenant, log_repository):
    job = log_job_create(tenant=tenant, primary=log_repository)
    client.force_login(admin_persona)
    url = reverse("repositories:log_repository_remove", args=[log_repository.pk])
    page = client.get(url).content.decode()
    assert "1 chunks of Contoso" in page and "Cold &lt;b&gt;logs&lt;/b&gt;" in page and "<b>logs</b>" not in page
    assert "change or remove those jobs" in client.post(url, {"data": "erase", "confirm": log_repository.name}).content.decode()
    job.delete()
    assert client.post(url, {"data": "erase", "confirm": log_repository.name}).status_code == 302
    assert not LogRepository.objects.exists()
    assert not [p for p in Path(log_repository.path).rglob("*") if p.is_file()]  # every chunk and manifest erased


def test_repository_add_list_and_remove_commands(db, clean_repository_database, capsys):
    call_command("repository_add", "--name", "Spare", "--database", "ebtest_c_spare")
    assert "Repository 'Spare' added" in capsys.readouterr().out
    call_command("repository_list", "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["name"], r["enabled"]) for r in rows] == [("entra", "Spare", True)]
    with pytest.raises(CommandError, match="A repository named 'spare' exists already"):
        call_command("repository_add", "--name", "spare", "--database", "ebtest_c_other")
    with pytest.raises(CommandError, match="add --yes"):
        call_command("repository_remove", "--name", "Spare")
    call_command("repository_remove", "--name", "Spare", "--yes")
    assert not Repository.objects.exists()
    with pytest.raises(CommandError, match="No repository named 'Spare'"):
        call_command("repository_remove", "--name", "Spare", "--yes")


def test_with_four_eyes_on_a_removal_waits_and_runs_once_a_second_administrator_approves(
        client, admin_persona, django_user_model, tenant, full_repository):
    ApprovalSwitch.objects.filter(action="repository.delete").update(enabled=True)
    client.force_login(admin_persona)
    url = reverse("repositories:repository_remove", args=[full_repository.pk])
    page = client.post(url, {"data": "detach"}, follow=True).content.decode()
    assert "waits for a second administrator" in page and Repository.objects.filter(pk=full_repository.pk).exists()
    bob = django_user_model.objects.create_superuser(username="bob", email="", password="x-Very-long-pass-1")
    request = ApprovalRequest.objects.get(action="repository.delete")
    approval_approve(approval_id=request.pk, user=bob)
    assert not Repository.objects.exists()
    assert _points(repository_default(), tenant) == 1  # detached: its restore point is still there
