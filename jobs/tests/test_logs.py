"""Log jobs, log sessions and the log record index on the configuration database."""

import csv
import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from audittrail.models import Entry
from entrabackup import graph
from jobs import selectors
from jobs.errors import JobError, SessionConflictError
from jobs.logbackup import index as logindex
from jobs.logbackup import services
from jobs.logbackup.types import LOG_TYPES
from jobs.management.commands import logs_backup_run
from jobs.models import LogSession
from jobs.services import scheduler_tick
from repositories.log_services import log_repository_add, log_repository_open
from tenants.services import tenant_create

CLIENT = "11111111-2222-3333-4444-555555555555"
AUDIT = LOG_TYPES["audit"]


@pytest.fixture
def tenant(db, clean_repository_database):
    return tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT,
                         credential=graph.ClientSecret("s"))


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "log_session_enqueue", lambda session: calls.append(session.pk))
    return calls


def _audit(n: int, at: datetime, upn: str = "ada@contoso.example") -> dict:
    return {"id": f"Directory_{n}", "activityDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "category": "UserManagement", "activityDisplayName": "Update user", "result": "success",
            "correlationId": f"c{n}", "loggedByService": "Core Directory",
            "initiatedBy": {"user": {"id": f"u-{upn}", "userPrincipalName": upn, "ipAddress": "203.0.113.9"},
                            "app": None},
            "targetResources": [{"id": f"t{n}", "displayName": "<script>Bob</script>"}]}


def test_a_fresh_tenant_with_log_backup_gets_a_log_job_into_the_default_repository(tenant):
    jobs = services.log_jobs_for_tenant(tenant)
    assert len(jobs) == 1 and jobs[0].log_types == list(LOG_TYPES) and jobs[0].every_minutes == 15
    assert services.log_jobs_for_tenant(tenant) == jobs


def test_a_tenant_without_log_backup_gets_no_log_job(tenant):
    tenant.features = ["directory_backup"]
    tenant.save()
    with pytest.raises(JobError, match="does not back up logs"):
        services.log_jobs_for_tenant(tenant)


def test_a_tenant_has_one_log_session_at_a_time(tenant, enqueued, django_capture_on_commit_callbacks):
    job = services.log_jobs_for_tenant(tenant)[0]
    with django_capture_on_commit_callbacks(execute=True):
        first = services.log_session_create(job=job)
    with pytest.raises(SessionConflictError, match=f"Log session {first.pk} is queued"):
        services.log_session_create(job=job)
    assert enqueued == [first.pk]
    assert services.log_session_cancel(session=first) and LogSession.objects.get(pk=first.pk).status == "cancelled"
    services.log_session_create(job=job)


def test_due_log_jobs_start_on_the_scheduler_tick(tenant, enqueued):
    job = services.log_jobs_for_tenant(tenant)[0]
    job.next_run_at = datetime.now(UTC) - timedelta(minutes=1)
    job.save()
    assert len(scheduler_tick()["log_sessions"]) == 1


def test_bad_log_job_settings_are_refused(tenant):
    primary = services.log_jobs_for_tenant(tenant)[0].primary
    with pytest.raises(JobError, match="Unknown log type 'audits'"):
        services.log_job_create(tenant=tenant, primary=primary, log_types=["audits"])
    with pytest.raises(JobError, match="every 1 to 1440 minutes"):
        services.log_job_create(tenant=tenant, primary=primary, every_minutes=0)
    with pytest.raises(JobError, match="must differ"):
        services.log_job_create(tenant=tenant, primary=primary, secondary=primary)


def test_indexing_a_chunk_twice_adds_nothing_and_search_finds_by_user_and_range(tenant):
    t0 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    records = [_audit(i, t0 + timedelta(minutes=i), "ada@contoso.example" if i % 2 else "bob@contoso.example")
               for i in range(6)]
    assert logindex.index_chunk(tenant_id=tenant.pk, log_type=AUDIT, repository="1", chunk="c1", records=records) == 6
    assert logindex.index_chunk(tenant_id=tenant.pk, log_type=AUDIT, repository="1", chunk="c1", records=records) == 0
    assert {date(2026, 3, 1), date(2026, 3, 2)} <= set(logindex.partitions())
    found = selectors.log_records_search(tenant, start=t0, end=t0 + timedelta(minutes=3), user="ADA@contoso.example",
                                         page=1, per_page=50)
    assert [r["record_id"] for r in found["rows"]] == ["Directory_3", "Directory_1"]  # newest first
    assert found["rows"][0]["chunk"] == "c1" and found["rows"][0]["line"] == 3
    assert selectors.log_records_search(tenant, start=t0, end=t0 + timedelta(hours=1), target="<script>Bob</script>",
                                        page=2, per_page=4)["rows"][0]["record_id"] == "Directory_1"


def test_retention_drops_whole_days_of_the_index_and_only_those(tenant):
    days = [datetime(2026, 4, d, 12, tzinfo=UTC) for d in (1, 2, 3)]
    for n, at in enumerate(days):
        logindex.index_chunk(tenant_id=tenant.pk, log_type=AUDIT, repository="1", chunk=f"c{n}", records=[_audit(n, at)])
    dropped = logindex.index_prune(tenant_id=tenant.pk, repository="1", before=date(2026, 4, 3))
    assert dropped == [date(2026, 4, 1), date(2026, 4, 2)]
    assert date(2026, 4, 3) in logindex.partitions()
    with connection.cursor() as cursor:
        cursor.execute("SELECT record_id FROM jobs_logrecord WHERE at >= '2026-04-01' AND at < '2026-04-04'")
        assert [r[0] for r in cursor.fetchall()] == ["Directory_2"]


def test_the_logs_pages_escape_tenant_data_and_stop_polling_when_finished(tenant, client, admin_persona, enqueued):
    tenant.name = "<b>Evil</b>"
    tenant.save()
    session = services.log_session_create(job=services.log_jobs_for_tenant(tenant)[0])
    LogSession.objects.filter(pk=session.pk).update(status="running", stats={"audit": {"read": 3, "new": 2}},
                                                    log="<script>x</script>")
    client.force_login(admin_persona)
    page = client.get(reverse("jobs:log_list")).content.decode()
    assert "&lt;b&gt;Evil&lt;/b&gt;" in page and "<b>Evil</b>" not in page
    url = reverse("jobs:log_session_detail", args=[session.pk])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    LogSession.objects.filter(pk=session.pk).update(status="success")
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "&lt;script&gt;x&lt;/script&gt;" in done.content.decode()


def test_the_logs_pages_need_the_view_permission(client, outsider_persona, db):
    client.force_login(outsider_persona)
    assert client.get(reverse("jobs:log_list")).status_code == 403


def test_logs_backup_run_says_at_once_that_no_proxy_runs_and_fails(tenant, monkeypatch, enqueued):
    monkeypatch.setattr(logs_backup_run, "PROXY_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(logs_backup_run, "proxies_running", lambda: [])
    err = StringIO()
    with pytest.raises(CommandError, match="stays queued"):
        call_command("logs_backup_run", tenant="Contoso", wait=True, stderr=err, stdout=StringIO())
    assert "No backup proxy has reported" in err.getvalue()


def test_log_job_add_names_the_option_in_error(tenant):
    primary = services.log_jobs_for_tenant(tenant)[0].primary
    with pytest.raises(CommandError, match="--types: Unknown log type 'nope'"):
        call_command("log_job_add", tenant="Contoso", primary=primary.name, types="audit,nope")
    out = StringIO()
    call_command("log_job_add", tenant="Contoso", primary=primary.name, types="signins", every_minutes=5, stdout=out)
    assert "signin, signin-noninteractive" in out.getvalue() and "every 5 min" in out.getvalue()


def test_logs_export_writes_each_record_once_as_json_or_csv_and_refuses_a_wrong_password(tenant, tmp_path, settings):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    repository = log_repository_add(name="Sealed", kind="directory", path=str(tmp_path / "sealed"),
                                    password="correct horse battery")
    t0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
    records = [_audit(i, t0 + timedelta(hours=i)) for i in range(4)]
    records[2]["activityDisplayName"] = "=HYPERLINK(\"http://evil\")"
    with log_repository_open(repository) as store:
        store.write_chunk(tenant=str(tenant.key), log_type="audit", day=t0.date(), session="a", records=records[:3])
        store.write_chunk(tenant=str(tenant.key), log_type="audit", day=t0.date(), session="b", records=records[1:])
    common = {"tenant": "Contoso", "type": "audit", "start": "2026-05-01T10:30:00Z", "end": "2026-05-01T13:00:00Z",
              "repository": "Sealed", "stdout": StringIO()}
    call_command("logs_export", format="json", output=str(tmp_path / "a.json"), **common)
    exported = json.loads((tmp_path / "a.json").read_text())
    assert [r["id"] for r in exported] == ["Directory_1", "Directory_2", "Directory_3"] and exported[0] == records[1]
    call_command("logs_export", format="csv", output=str(tmp_path / "a.csv"), **common)
    rows = list(csv.reader((tmp_path / "a.csv").open()))
    assert len(rows) == 4 and rows[2][4].startswith("'=HYPERLINK")
    exports = Entry.objects.filter(action="export.logs").values_list("command", "tenant_name", "detail__records")
    assert list(exports) == [("logs_export", "Contoso", 3)] * 2
    (tmp_path / "pw").write_text("wrong password")
    with pytest.raises(CommandError, match="(?i)password"):
        call_command("logs_export", format="json", output=str(tmp_path / "b.json"),
                     password_file=str(tmp_path / "pw"), **common)
