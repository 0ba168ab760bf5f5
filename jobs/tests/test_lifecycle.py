"""Editing, disabling, cloning and removing jobs and log jobs; listing and cancelling sessions (pages and commands)."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from entrabackup import graph
from jobs import services
from jobs.logbackup.services import log_job_create
from jobs.models import BackupJob, BackupSession, LogJob, LogSession
from repositories.models import LogRepository
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def job(db, clean_repository_database, monkeypatch):
    monkeypatch.setattr(services, "session_enqueue", lambda session: None)
    tenant = tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT, credential=graph.ClientSecret("s"))
    return services.job_create(tenant=tenant, name="Nightly", schedule_kind="daily", schedule_value="02:00",
                               retention_days=30)


@pytest.fixture
def log_job(job, tmp_path, settings):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = LogRepository.objects.create(name="Logs A", kind="directory", path=str(tmp_path / "a"))
    LogRepository.objects.create(name="Logs B", kind="directory", path=str(tmp_path / "b"))
    return log_job_create(tenant=job.tenant, primary=primary)


def _edit_data(job, **changes):
    data = {"name": job.name, "repository": job.repository_id, "schedule_kind": job.schedule_kind,
            "schedule_value": job.schedule_value, "retention_days": job.retention_days or "",
            "full_every_days": job.full_every_days, "enabled": "on"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_edit_page_changes_the_schedule_and_disables_the_job(client, admin_persona, job):
    client.force_login(admin_persona)
    url = reverse("jobs:job_edit", args=[job.pk])
    assert client.post(url, _edit_data(job, schedule_kind="hours", schedule_value="6", enabled=None)).status_code == 302
    job.refresh_from_db()
    assert (job.schedule_kind, job.schedule_value, job.enabled) == ("hours", "6", False)
    BackupJob.objects.filter(pk=job.pk).update(next_run_at="2000-01-01T00:00Z")
    assert services.jobs_run_due() == []
    page = client.post(url, _edit_data(job, schedule_kind="daily", schedule_value="25:00")).content.decode()
    assert "Daily: give the time as HH:MM, 24-hour clock" in page
    assert client.get(reverse("jobs:job_list")).content.decode().count("disabled") == 1


def test_clone_fills_the_add_form_with_a_copy_name(client, admin_persona, job):
    client.force_login(admin_persona)
    page = client.get(reverse("jobs:job_add") + f"?clone={job.pk}").content.decode()
    assert 'value="Copy of Nightly"' in page and 'value="02:00"' in page
    assert client.get(reverse("jobs:job_add") + "?clone=999999").status_code == 404


def test_remove_page_states_what_is_kept_and_refuses_while_a_session_runs(client, admin_persona, job):
    client.force_login(admin_persona)
    url = reverse("jobs:job_remove", args=[job.pk])
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status="running")
    page = client.get(url).content.decode()
    assert "restore points of tenant Contoso in repository Local repository are kept" in page
    assert "queued or running" in client.post(url).content.decode()
    BackupSession.objects.filter(pk=session.pk).update(status="failed")
    assert client.post(url).status_code == 302 and not BackupJob.objects.exists()


def test_viewer_may_not_edit_or_remove_a_job(client, viewer_persona, job):
    client.force_login(viewer_persona)
    assert client.post(reverse("jobs:job_edit", args=[job.pk]), _edit_data(job, name="x")).status_code == 403
    assert client.post(reverse("jobs:job_remove", args=[job.pk])).status_code == 403
    assert BackupJob.objects.get(pk=job.pk).name == "Nightly"


def test_job_update_and_remove_commands(job, capsys):
    call_command("job_update", "--job", "nightly", "--every-hours", "4", "--retention-days", "0", "--disable")
    job.refresh_from_db()
    assert (job.schedule_kind, job.schedule_value, job.retention_days, job.enabled) == ("hours", "4", None, False)
    with pytest.raises(CommandError, match="--every-minutes: Every N minutes: N must be"):
        call_command("job_update", "--job", "Nightly", "--every-minutes", "0")
    with pytest.raises(CommandError, match="No job named 'Weekly'"):
        call_command("job_update", "--job", "Weekly", "--manual")
    with pytest.raises(CommandError, match="add --yes|Add --yes"):
        call_command("job_remove", "--job", "Nightly")
    call_command("job_remove", "--job", "Nightly", "--yes")
    assert not BackupJob.objects.exists() and "are kept" in capsys.readouterr().out


def test_log_job_edit_and_remove_pages(client, admin_persona, log_job):
    client.force_login(admin_persona)
    url = reverse("jobs:log_job_edit", args=[log_job.pk])
    other = LogRepository.objects.get(name="Logs B")
    same = {"primary": log_job.primary_id, "secondary": log_job.primary_id, "every_minutes": 15, "overlap_minutes": 60}
    assert "must differ" in client.post(url, same).content.decode()
    assert client.post(url, {**same, "secondary": other.pk, "every_minutes": 30}).status_code == 302
    log_job.refresh_from_db()
    assert (log_job.secondary, log_job.every_minutes, log_job.enabled) == (other, 30, False)
    LogSession.objects.create(job=log_job, tenant=log_job.tenant, status="queued")
    assert "queued or running" in client.post(reverse("jobs:log_job_remove", args=[log_job.pk])).content.decode()
    LogSession.objects.update(status="cancelled")
    assert client.post(reverse("jobs:log_job_remove", args=[log_job.pk])).status_code == 302
    assert not LogJob.objects.exists()


def test_session_list_filters_and_prints_json(job, capsys):
    BackupSession.objects.create(job=job, tenant=job.tenant, status="failed", error="boom")
    BackupSession.objects.create(job=job, tenant=job.tenant, status="success")
    call_command("session_list", "--tenant", "Contoso", "--kind", "backup", "--status", "failed", "--format", "json",
                 "--from", "2000-01-01", "--to", "2999-01-01T00:00:00Z")
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["status"], r["error"]) for r in rows] == [("backup", "failed", "boom")]


def test_session_list_to_is_queued_at_or_before(job, capsys):
    """--to is inclusive to the microsecond (the Sessions page's end, a date, is exclusive: both filter through
    jobs.sessionlist.filtered)."""
    session = BackupSession.objects.create(job=job, tenant=job.tenant, status="success")
    at = session.queued_at.isoformat()
    call_command("session_list", "--from", at, "--to", at, "--format", "json")
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [session.pk]
    before = (session.queued_at - timedelta(microseconds=1)).isoformat()
    call_command("session_list", "--to", before, "--format", "json")
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("argv, message", [
    (["--kind", "nightly"], "--kind: Unknown kind 'nightly'"),
    (["--status", "done"], "--status: Unknown status 'done'"),
    (["--from", "yesterday"], "--from: A date or time as ISO 8601"),
    (["--from", "2026-12-01", "--to", "2026-11-01"], "--from: The start of the period is after its end"),
    (["--limit", "0"], "--limit: The limit is 1 to 10000"),
])
def test_session_list_names_bad_filters(db, argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("session_list", *argv)


def test_session_cancel_command_cancels_a_queued_session_and_refuses_a_finished_one(job, capsys):
    queued = BackupSession.objects.create(job=job, tenant=job.tenant)
    call_command("session_cancel", "--id", str(queued.pk))
    queued.refresh_from_db()
    assert queued.status == "cancelled"
    with pytest.raises(CommandError, match="has already finished"):
        call_command("session_cancel", "--id", str(queued.pk))
    with pytest.raises(CommandError, match="--id is a session's number"):
        call_command("session_cancel", "--id", "1; DROP")
    with pytest.raises(CommandError, match="No log session"):
        call_command("session_cancel", "--id", str(queued.pk), "--kind", "log")
