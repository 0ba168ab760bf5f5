"""Editing, disabling, cloning and removing tenants (pages and commands), and least privilege by default."""

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from entrabackup import graph, vault
from jobs.logbackup import index as logindex
from jobs.logbackup.types import LOG_TYPES
from jobs.models import BackupJob, BackupSession
from jobs.services import job_create, jobs_run_due
from repositories.models import LogRepository
from repositories.services import repository_store
from tenants import services
from tenants.forms import TenantForm
from tenants.models import Tenant

CLIENT = "11111111-2222-3333-4444-555555555555"
HOSTILE = "<script>alert(1)</script> & Co"


@pytest.fixture
def tenant(db):
    return services.tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT,
                                  credential=graph.ClientSecret("Zq8~verysecretvalue"))


@pytest.fixture
def backed(tenant, clean_repository_database, monkeypatch):
    """The tenant with a job and one committed restore point in the local repository."""
    monkeypatch.setattr("jobs.services.session_enqueue", lambda session: None)
    job = job_create(tenant=tenant, name="Contoso nightly", schedule_kind="minutes", schedule_value="5")
    with repository_store(job.repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
        with store.session(str(tenant.key), f"test-{uuid.uuid4()}", kind="full") as writer:
            writer.put_full("user", [{"id": "u1", "displayName": "Ada", "userPrincipalName": "ada@contoso.example"}])
            writer.commit()
    return tenant, job


def _points(job, tenant):
    with repository_store(job.repository) as store:
        return len(store.restore_points(str(tenant.key)))


def test_a_new_tenant_with_the_default_form_values_is_not_asked_for_write_permissions(db):
    form = TenantForm()
    assert "restore" not in form["features"].initial
    tenant = services.tenant_create(name="Fabrikam", directory_id="fabrikam.example", client_id=CLIENT,
                                    credential=graph.ClientSecret("s3cret-value"))
    assert tenant.features == ["directory_backup", "log_backup", "conditional_access"]
    asked = [p for perms in graph.permissions.missing_permissions([], tenant.features).values() for p in perms]
    assert asked and not [p for p in asked if "ReadWrite" in p]  # no write permission is asked for


def test_tenant_status_names_each_missing_permission_per_feature_it_uses(tenant):
    report = {"features": ["directory_backup", "restore"], "granted": ["Directory.Read.All"], "licence": "not checked",
              "missing": graph.permissions.missing_permissions(["Directory.Read.All"], ["directory_backup", "restore"])}
    services._record_check(tenant, report)
    labelled = dict(tenant.check_report["missing_labelled"])
    assert "User.ReadWrite.All" in labelled["Restore (writes to the tenant)"]
    assert "Log backup" not in tenant.check_report["summary"]  # a feature it does not use is not judged


def test_edit_page_renames_disables_and_changes_features(client, admin_persona, backed):
    tenant, job = backed
    client.force_login(admin_persona)
    response = client.post(reverse("tenants:tenant_edit", args=[tenant.pk]),
                           {"name": HOSTILE, "features": ["directory_backup"]})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.features, tenant.enabled) == (HOSTILE, ["directory_backup"], False)
    page = client.get(reverse("tenants:tenant_detail", args=[tenant.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page and HOSTILE not in page
    BackupJob.objects.filter(pk=job.pk).update(next_run_at="2000-01-01T00:00Z")
    assert jobs_run_due() == []  # a disabled tenant's jobs are not scheduled
    assert _points(job, tenant) == 1  # and its backups are kept


def test_edit_page_refuses_a_name_taken_and_no_feature(client, admin_persona, tenant):
    services.tenant_create(name="Other", directory_id="other.example", client_id=CLIENT, credential=graph.ClientSecret("x"))
    client.force_login(admin_persona)
    page = client.post(reverse("tenants:tenant_edit", args=[tenant.pk]), {"name": "other", "features": ["log_backup"],
                                                                         "enabled": "on"}).content.decode()
    assert "already registered" in page
    page = client.post(reverse("tenants:tenant_edit", args=[tenant.pk]), {"name": "Contoso"}).content.decode()
    assert "This field is required" in page


def test_clone_page_fills_the_settings_but_never_the_credential(client, admin_persona, tenant):
    client.force_login(admin_persona)
    page = client.get(reverse("tenants:tenant_clone", args=[tenant.pk])).content.decode()
    assert 'value="Copy of Contoso"' in page and CLIENT in page
    assert "Zq8~verysecretvalue" not in page and 'value="contoso.example"' not in page


def test_removing_a_tenant_with_restore_points_asks_what_happens_to_them(client, admin_persona, backed):
    tenant, job = backed
    client.force_login(admin_persona)
    url = reverse("tenants:tenant_remove", args=[tenant.pk])
    page = client.get(url).content.decode()
    assert "1 restore point in repository Local repository" in page and str(tenant.key) in page
    refused = client.post(url, {}).content.decode()
    assert "choose to keep or erase" in refused, refused[refused.find("<main"):]
    assert "Type the tenant&#x27;s name" in client.post(url, {"backups": "erase", "confirm": "contoso"}).content.decode()
    assert Tenant.objects.filter(pk=tenant.pk).exists()
    assert client.post(url, {"backups": "keep"}).status_code == 302
    assert not Tenant.objects.filter(pk=tenant.pk).exists() and not BackupJob.objects.filter(pk=job.pk).exists()
    assert _points(job, tenant) == 1  # kept, under the tenant's key


def test_erasing_a_tenant_purges_its_restore_points_and_refuses_while_a_session_runs(client, admin_persona, backed):
    tenant, job = backed
    client.force_login(admin_persona)
    url = reverse("tenants:tenant_remove", args=[tenant.pk])
    running = BackupSession.objects.create(job=job, tenant=tenant, status="running")
    assert "queued or running" in client.post(url, {"backups": "erase", "confirm": "Contoso"}).content.decode()
    BackupSession.objects.filter(pk=running.pk).update(status="success")
    assert client.post(url, {"backups": "erase", "confirm": "Contoso"}).status_code == 302
    assert _points(job, tenant) == 0


def test_remove_needs_the_delete_permission(client, operator_persona, tenant):
    client.force_login(operator_persona)
    assert client.get(reverse("tenants:tenant_remove", args=[tenant.pk])).status_code == 403
    assert client.post(reverse("tenants:tenant_remove", args=[tenant.pk]), {"backups": "keep"}).status_code == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_tenant_update_command_renames_and_replaces_the_secret_sealed_for_its_endpoint(tenant, tmp_path, capsys):
    secret = tmp_path / "secret"
    secret.write_text("N3w~secret-value\n")
    call_command("tenant_update", "--tenant", "Contoso", "--name", "Contoso EU", "--disable",
                 "--secret-file", str(secret), "--secret-expires", "2027-01-31")
    tenant.refresh_from_db()
    assert (tenant.name, tenant.enabled, f"{tenant.credential_expires_at:%Y-%m-%d}") == ("Contoso EU", False, "2027-01-31")
    opened = vault.unseal(tenant.sealed_credential, purpose=vault.purpose_of(Tenant, "sealed_credential"),
                          binding=tenant.vault_binding())
    assert opened == "N3w~secret-value" and "N3w~" not in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--tenant", "Nobody", "--name", "x"], "No tenant named 'Nobody'"),
    (["--tenant", "Contoso"], "Nothing to change"),
    (["--tenant", "Contoso", "--features", "restore,backdoor"], "Unknown feature"),
    (["--tenant", "Contoso", "--client-secret-file", "/nonexistent/secret"], "Cannot read /nonexistent/secret"),
])
def test_tenant_update_command_names_bad_input(tenant, argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("tenant_update", *argv)


def test_tenant_remove_command_shows_then_needs_yes_and_a_choice(backed, capsys):
    tenant, job = backed
    with pytest.raises(CommandError, match="add --yes"):
        call_command("tenant_remove", "--tenant", "Contoso")
    assert "1 restore points in repository Local repository" in capsys.readouterr().out
    with pytest.raises(CommandError, match="choose to keep or erase"):
        call_command("tenant_remove", "--tenant", "Contoso", "--yes")
    with pytest.raises(CommandError, match="--confirm must be the tenant's name"):
        call_command("tenant_remove", "--tenant", "Contoso", "--backups", "erase", "--confirm", "Fabrikam")
    call_command("tenant_remove", "--tenant", "Contoso", "--backups", "erase", "--confirm", "Contoso")
    assert not Tenant.objects.exists() and _points(job, tenant) == 0


def test_removing_a_tenant_names_its_log_chunks_keeps_them_and_forgets_its_index_rows(client, admin_persona, tenant):
    log_repository = LogRepository.objects.create(name="Cold logs", kind="directory", path="/nonexistent/cold")
    record = {"id": "Directory_1", "activityDateTime": "2026-11-30T10:00:00.0000000Z", "category": "UserManagement",
              "activityDisplayName": "Update user", "result": "success", "correlationId": "c1",
              "initiatedBy": {"user": {"id": "u1", "userPrincipalName": "ada@contoso.example"}}, "targetResources": []}
    logindex.index_chunk(tenant_id=tenant.pk, log_type=LOG_TYPES["audit"], repository=str(log_repository.pk),
                         chunk="c1", records=[record])
    client.force_login(admin_persona)
    url = reverse("tenants:tenant_remove", args=[tenant.pk])
    assert "1 log chunk (1 records) in log repository Cold logs" in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 302  # no restore points: nothing to choose
    assert logindex.tenant_chunk_counts(tenant.pk) == {}
