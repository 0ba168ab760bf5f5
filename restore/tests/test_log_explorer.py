"""The log explorer's pages: who may search, filters, paging, bad input, hostile data, the detail view and
the export, against a real directory log repository and the real index (no stand-in for either)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from audittrail.models import Entry
from conftest import _user_with
from entrabackup import graph, vault
from jobs.logbackup import index as logindex
from jobs.logbackup.types import LOG_TYPES, iso
from repositories import logstore
from repositories.log_services import log_repository_add, log_repository_open
from repositories.models import LogRepository
from restore import logexplorer
from restore.logexplorer import RecordRef
from tenants.services import tenant_create

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SCRIPT = "<script>alert('x')</script>"


def _audit(n: int, at: datetime, **extra) -> dict:
    record = {
        "id": f"Directory_{n:05d}", "activityDateTime": iso(at), "category": "UserManagement", "result": "success",
        "resultReason": "", "activityDisplayName": "Update user", "correlationId": f"corr-{n}",
        "loggedByService": "Core Directory", "operationType": "Update", "additionalDetails": [],
        "initiatedBy": {"user": {"id": "u-admin", "displayName": "Admin", "userPrincipalName": "admin@contoso.example",
                                 "ipAddress": "203.0.113.10"}, "app": None},
        "targetResources": [{"id": f"target-{n}", "displayName": f"User {n}", "type": "User",
                             "modifiedProperties": [{"displayName": "jobTitle", "oldValue": '["Clerk"]',
                                                     "newValue": f'["Lead {n}"]'}]}],
    }
    record.update(extra)
    return record


def _store(tenant, repository, records, log_type="audit", session="t1"):
    """Write the records as one chunk per day and index them, as a log session does."""
    by_day = {}
    for record in records:
        by_day.setdefault(record[LOG_TYPES[log_type].time_field][:10], []).append(record)
    with log_repository_open(repository) as store:
        for day, chunk_records in sorted(by_day.items()):
            manifest = store.write_chunk(tenant=str(tenant.key), log_type=log_type,
                                         day=datetime.fromisoformat(day).date(), session=session,
                                         records=chunk_records)
            logindex.index_chunk(tenant_id=tenant.pk, log_type=LOG_TYPES[log_type], repository=str(repository.pk),
                                 chunk=manifest.chunk, records=chunk_records)


@pytest.fixture
def tenant(db):
    return tenant_create(name="Contoso", directory_id="contoso.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.fixture
def repository(db, settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    return log_repository_add(name="Primary", kind="directory", path=str(tmp_path / "primary"))


@pytest.fixture
def logs(tenant, repository):
    """60 audit records a minute apart (newest: Directory_00059), two of them special, and 3 sign-ins."""
    records = [_audit(n, NOW - timedelta(minutes=60 - n)) for n in range(60)]
    records[10]["result"], records[10]["activityDisplayName"] = "failure", "Delete group"
    records[20]["initiatedBy"] = {"user": None, "app": {"appId": "app-42", "displayName": "Sync app"}}
    _store(tenant, repository, records)
    signins = [{"id": f"signin-{n}", "createdDateTime": iso(NOW - timedelta(minutes=90 + n)), "userId": "u-bob",
                "userPrincipalName": "bob@contoso.example", "appDisplayName": "Portal", "ipAddress": "198.51.100.7",
                "status": {"errorCode": 50126 if n == 0 else 0}, "correlationId": f"sc-{n}"} for n in range(3)]
    _store(tenant, repository, signins, log_type="signin")
    return records


@pytest.fixture
def log_viewer(django_user_model):
    return _user_with(django_user_model, "lena", "tenants.view_tenant", "jobs.view_logsession", "restore.explore_logs")


def _ids(client, tenant, **params) -> list[str]:
    response = client.get(reverse("restore:log_explorer", args=[tenant.pk]), {"per_page": 200, **params})
    assert response.status_code == 200, response.content.decode()[:2000]
    return [RecordRef.parse(row["token"]).record_id for row in response.context["result"]["rows"]]


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", 200), ("log_viewer", 200), ("viewer_persona", 403), ("outsider_persona", 403),
])
def test_role_matrix_for_log_explorer_pages(client, request, tenant, logs, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    token = RecordRef("audit", datetime.fromisoformat(logs[5]["activityDateTime"].replace("0Z", "+00:00")),
                      logs[5]["id"]).token
    urls = [reverse("restore:log_index"), reverse("restore:log_explorer", args=[tenant.pk]),
            reverse("restore:log_record_detail", args=[tenant.pk]) + f"?id={token}",
            reverse("restore:log_export", args=[tenant.pk]) + "?format=json"]
    assert [client.get(url).status_code for url in urls] == [expected] * 4
    assert client.post(reverse("restore:log_export", args=[tenant.pk]), {"ids": [token]}).status_code == expected


def test_a_user_who_may_not_see_logs_gets_no_record_in_the_refusal(client, tenant, logs, viewer_persona):
    client.force_login(viewer_persona)
    body = client.get(reverse("restore:log_explorer", args=[tenant.pk])).content.decode()
    assert "Directory_000" not in body and "admin@contoso.example" not in body


def test_filters_narrow_the_results(client, tenant, logs, admin_persona):
    client.force_login(admin_persona)
    assert len(_ids(client, tenant)) == 63  # 60 audits and 3 sign-ins in the last 30 days
    assert sorted(_ids(client, tenant, result="failure")) == ["Directory_00010", "signin-0"]
    assert _ids(client, tenant, activity="Delete group") == ["Directory_00010"]
    assert _ids(client, tenant, user="ADMIN@contoso.example")[:2] == ["Directory_00059", "Directory_00058"]
    assert len(_ids(client, tenant, user="u-bob")) == 3
    assert _ids(client, tenant, app="app-42") == ["Directory_00020"]  # an audit record an app initiated
    assert _ids(client, tenant, app="SYNC APP") == ["Directory_00020"]
    assert _ids(client, tenant, app="portal") == ["signin-0", "signin-1", "signin-2"]  # the app signed in to
    assert _ids(client, tenant, target="target-33") == ["Directory_00033"]
    assert _ids(client, tenant, target="User 34") == ["Directory_00034"]
    assert _ids(client, tenant, correlation_id="corr-7") == ["Directory_00007"]
    assert _ids(client, tenant, ip="198.51.100.7") == ["signin-0", "signin-1", "signin-2"]
    assert _ids(client, tenant, category="signin") == ["signin-0", "signin-1", "signin-2"]
    start, end = NOW - timedelta(minutes=15), NOW - timedelta(minutes=12)
    assert _ids(client, tenant, start=start.strftime("%Y-%m-%dT%H:%M"), end=end.strftime("%Y-%m-%dT%H:%M")) == [
        "Directory_00048", "Directory_00047", "Directory_00046", "Directory_00045"]
    old = (NOW - timedelta(days=40)).date().isoformat()
    assert _ids(client, tenant, start=old, end=old) == []


@pytest.mark.parametrize("first_window", [timedelta(hours=1), timedelta(seconds=30)])
def test_results_page_on_the_server_newest_first_with_counts(client, tenant, logs, admin_persona, monkeypatch,
                                                             first_window):
    monkeypatch.setattr(logexplorer, "FIRST_WINDOW", first_window)  # the answer never depends on the window
    client.force_login(admin_persona)
    url = reverse("restore:log_explorer", args=[tenant.pk])
    first = client.get(url, {"activity": "Update user"})
    rows = first.context["result"]["rows"]
    assert len(rows) == 50 and rows[0]["record_id"] == "Directory_00059" and first.context["result"]["has_next"]
    assert "59 records match; 1–50 shown" in first.content.decode()
    second = client.get(url, {"activity": "Update user", "page": 2}, headers={"HX-Request": "true"})
    assert [r["record_id"] for r in second.context["result"]["rows"]] == [f"Directory_{n:05d}" for n in range(8, -1, -1)
                                                                         if n != 10]
    body = second.content.decode()
    assert body.startswith('<section id="log-rows">') and "<html" not in body  # the HTMX partial
    assert "51–59 shown" in body and "page=1" in body and "page=3" not in body
    past = client.get(url, {"activity": "Update user", "page": 9}).content.decode()
    assert "59 records match" in past and "No record matches." in past


def test_counts_stop_at_the_cap(client, tenant, logs, admin_persona, monkeypatch):
    monkeypatch.setattr(logexplorer, "COUNT_CAP", 20)
    client.force_login(admin_persona)
    body = client.get(reverse("restore:log_explorer", args=[tenant.pk]), {"per_page": 50}).content.decode()
    assert "More than 20 records match; 1–50 shown" in body


@pytest.mark.parametrize("params, message", [
    ({"start": "yesterday"}, "Not a date or time: &#x27;yesterday&#x27;"),
    ({"end": "2026-02-30"}, "Not a date or time"),
    ({"start": "2026-11-02", "end": "2026-11-01"}, "The end of the time range is before its start."),
    ({"start": "2001-01-01", "end": "2026-01-01"}, "spans more than 10 years"),
    ({"start": "1900-01-01"}, "is outside 2000–2099"),
    ({"page": "0"}, "page: Ensure this value is greater than or equal to 1."),
    ({"page": "99999999999"}, "page: Ensure this value is less than or equal to 10000."),
    ({"page": "two"}, "page: Enter a whole number."),
    ({"ip": "10.0.0.300"}, "Not an IP address"),
    ({"result": "maybe"}, "result: Select a valid choice."),
    ({"user": "bob\x01"}, "cannot contain control characters"),
    ({"per_page": "100000"}, "per_page: Select a valid choice."),
])
def test_bad_filters_get_a_clear_message_never_a_500(client, tenant, admin_persona, params, message):
    client.force_login(admin_persona)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(reverse("restore:log_explorer", args=[tenant.pk]), params, headers=headers)
        assert response.status_code == 400
        assert message in response.content.decode()


def test_bad_record_references_and_export_formats_are_refused_clearly(client, tenant, logs, admin_persona):
    client.force_login(admin_persona)
    detail = reverse("restore:log_record_detail", args=[tenant.pk])
    for token in ["", "audit", "nope.1.x", "audit.99999999999999999999.x", "audit.1.a\x01b"]:
        response = client.get(detail, {"id": token})
        assert response.status_code == 400 and "Not a log record reference" in response.content.decode(), token
    missing = client.get(detail, {"id": "audit.1.Directory_nothing"})
    assert missing.status_code == 404 and "holds no such record" in missing.content.decode()
    export = reverse("restore:log_export", args=[tenant.pk])
    assert client.get(export, {"format": "xml"}).status_code == 400
    refused = client.post(export, {"format": "csv"})
    assert refused.status_code == 400 and "Tick at least one record." in refused.content.decode()


def test_hostile_names_are_escaped_in_the_list_and_the_detail(client, tenant, repository, admin_persona):
    record = _audit(1, NOW - timedelta(minutes=3), activityDisplayName=SCRIPT)
    record["initiatedBy"]["user"].update(displayName=SCRIPT, userPrincipalName=f"{SCRIPT}@contoso.example")
    record["targetResources"][0].update(displayName=SCRIPT, modifiedProperties=[
        {"displayName": SCRIPT, "oldValue": json.dumps([SCRIPT]), "newValue": '["<img src=x onerror=alert(1)>"]'}])
    _store(tenant, repository, [record])
    client.force_login(admin_persona)
    listing = client.get(reverse("restore:log_explorer", args=[tenant.pk])).content.decode()
    token = client.get(reverse("restore:log_explorer", args=[tenant.pk])).context["result"]["rows"][0]["token"]
    detail = client.get(reverse("restore:log_record_detail", args=[tenant.pk]), {"id": token}).content.decode()
    for body in (listing, detail):
        assert "<script>alert" not in body and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "<img src=x" not in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail


def test_the_detail_view_reads_the_whole_record_from_its_chunk(client, tenant, logs, admin_persona):
    client.force_login(admin_persona)
    rows = client.get(reverse("restore:log_explorer", args=[tenant.pk]), {"correlation_id": "corr-20"})
    token = rows.context["result"]["rows"][0]["token"]
    response = client.get(reverse("restore:log_record_detail", args=[tenant.pk]), {"id": token})
    record = response.context["record"]
    assert ("App", "Sync app") in record["who"] and ("Activity", "Update user") in record["what"]
    assert record["targets"][0]["changes"] == [("jobTitle", "Clerk", "Lead 20")]  # decoded, old -> new
    assert json.loads(record["json"]) == logs[20]  # the Graph record as stored, not the index's fields
    assert "Clerk</td><td>→</td><td>Lead 20" in response.content.decode()
    related = client.get(reverse("restore:log_explorer", args=[tenant.pk]) + "?" + response.context["related"])
    assert [r["record_id"] for r in related.context["result"]["rows"]] == ["Directory_00020"]


def _export(response) -> bytes:
    assert response.status_code == 200, response.content.decode()[:2000]
    return b"".join(response.streaming_content)


def test_export_by_filters_is_exactly_the_selection_read_from_the_chunks(client, tenant, logs, admin_persona,
                                                                         monkeypatch):
    monkeypatch.setattr(logexplorer, "BATCH", 7)  # walk many pages: keyset by time must neither skip nor repeat
    monkeypatch.setattr(logexplorer, "FIRST_WINDOW", timedelta(seconds=30))  # and widen windows many times
    client.force_login(admin_persona)
    export = reverse("restore:log_export", args=[tenant.pk])
    data = json.loads(_export(client.get(export, {"format": "json", "user": "admin@contoso.example"})))
    assert data == sorted([r for r in logs if r["initiatedBy"]["user"]], key=lambda r: r["activityDateTime"],
                          reverse=True)
    rows = list(csv.reader(io.StringIO(_export(client.get(export, {"format": "csv", "result": "failure"})).decode())))
    assert rows[0][:3] == ["id", "time", "log_type"]
    assert sorted(row[0] for row in rows[1:]) == ["Directory_00010", "signin-0"]
    exports = Entry.objects.filter(action="export.logs", tenant_id=tenant.pk).order_by("id").values_list("username", "detail")
    assert [(user, detail["format"]) for user, detail in exports] == [("alice", "json"), ("alice", "csv")]


def test_a_selection_sharing_one_instant_is_exported_whole(client, tenant, repository, admin_persona, monkeypatch):
    at = NOW - timedelta(minutes=5)
    _store(tenant, repository, [_audit(n, at if n < 20 else at - timedelta(seconds=n)) for n in range(30)])
    monkeypatch.setattr(logexplorer, "BATCH", 6)
    client.force_login(admin_persona)
    data = json.loads(_export(client.get(reverse("restore:log_export", args=[tenant.pk]), {"format": "json"})))
    assert sorted(r["id"] for r in data) == [f"Directory_{n:05d}" for n in range(30)]


def test_export_of_ticked_records_is_exactly_those(client, tenant, logs, admin_persona):
    client.force_login(admin_persona)
    rows = client.get(reverse("restore:log_explorer", args=[tenant.pk])).context["result"]["rows"]
    ticked = [rows[3]["token"], rows[40]["token"], rows[3]["token"]]
    export = reverse("restore:log_export", args=[tenant.pk])
    data = json.loads(_export(client.post(export, {"ids": ticked, "format": "json"})))
    assert [r["id"] for r in data] == [rows[3]["record_id"], rows[40]["record_id"]]
    assert data[0] == next(r for r in logs if r["id"] == rows[3]["record_id"])
    text = _export(client.post(export, {"ids": ticked, "format": "csv"})).decode()
    assert [row[0] for row in csv.reader(io.StringIO(text))][1:] == [rows[3]["record_id"], rows[40]["record_id"]]


def test_an_encrypted_repository_is_read_with_its_password_and_a_wrong_one_is_said_plainly(
        client, tenant, settings, tmp_path, admin_persona):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    # Created with a cheap scrypt cost (the key derivation is not under test here), then adopted as an
    # operator would adopt an existing repository: the server seals the password that opens it.
    logstore.LogRepository.create(logstore.open_backend({"kind": "directory", "path": str(tmp_path / "locked")}),
                                  password="a long pass phrase", scrypt_n=2**10)
    locked = log_repository_add(name="Locked", kind="directory", path=str(tmp_path / "locked"),
                                password="a long pass phrase")
    _store(tenant, locked, [_audit(1, NOW - timedelta(minutes=1))])
    client.force_login(admin_persona)
    token = client.get(reverse("restore:log_explorer", args=[tenant.pk])).context["result"]["rows"][0]["token"]
    detail = reverse("restore:log_record_detail", args=[tenant.pk])
    assert client.get(detail, {"id": token}).context["record"]["what"][0] == ("Activity", "Update user")

    # The sealed password no longer opens the repository (changed elsewhere, say).
    LogRepository.objects.filter(pk=locked.pk).update(sealed_password=vault.seal(
        "not the password", purpose=vault.purpose_of(LogRepository, "sealed_password"), binding=locked.vault_binding()))
    response = client.get(detail, {"id": token})
    body = response.content.decode()
    assert response.status_code == 503 and "Wrong password for this log repository" in body
    assert "Log repository Locked" in body and "Traceback" not in body and "not the password" not in body
    export = client.get(reverse("restore:log_export", args=[tenant.pk]), {"format": "csv"})
    assert export.status_code == 503 and "Wrong password" in export.content.decode()


def test_a_missing_chunk_is_named_on_the_detail_page(client, tenant, logs, repository, admin_persona, tmp_path):
    client.force_login(admin_persona)
    token = client.get(reverse("restore:log_explorer", args=[tenant.pk])).context["result"]["rows"][0]["token"]
    for chunk in (tmp_path / "primary").rglob("*.jsonl.zst"):
        chunk.unlink()
    response = client.get(reverse("restore:log_record_detail", args=[tenant.pk]), {"id": token})
    assert response.status_code == 503 and "is missing (its manifest is there)" in response.content.decode()


@pytest.fixture
def restorer(django_user_model):
    return _user_with(django_user_model, "rita", "tenants.view_tenant", "jobs.view_logsession", "restore.explore_logs",
                      "restore.run_restore")


def test_revert_shows_the_ticked_audit_records_and_hands_their_ids_to_the_plan(client, tenant, logs, restorer,
                                                                               log_viewer):
    client.force_login(log_viewer)  # may search logs, may not restore: no button, and a 403 behind it
    rows = client.get(reverse("restore:log_explorer", args=[tenant.pk]), {"per_page": 100}).context["result"]["rows"]
    assert "Revert these changes" not in client.get(reverse("restore:log_explorer", args=[tenant.pk])).content.decode()
    signin = next(r for r in rows if r["log_type"] == "signin")
    revert = reverse("restore:log_revert", args=[tenant.pk])
    assert client.post(revert, {"ids": [rows[0]["token"]]}).status_code == 403

    client.force_login(restorer)
    response = client.post(revert, {"ids": [rows[0]["token"], rows[1]["token"], signin["token"]]})
    body = response.content.decode()
    assert response.status_code == 200 and "1 ticked record left out" in body
    assert response.context["audit_ids"] == f"{rows[0]['record_id']} {rows[1]['record_id']}"
    assert f'action="{reverse("restore:plan_from_audit", args=[tenant.pk])}"' in body
    only_signins = client.post(revert, {"ids": [signin["token"]]})
    assert only_signins.status_code == 400 and "Only directory audit records can be reverted" in only_signins.content.decode()
    # The plan page finds the records in the log backup; this tenant has no restore point to revert to.
    plan = client.post(reverse("restore:plan_from_audit", args=[tenant.pk]), {"audit_ids": response.context["audit_ids"]})
    assert plan.status_code == 400 and "has no restore point before" in plan.content.decode()


def test_an_export_that_meets_an_unreadable_chunk_midway_says_it_is_incomplete(client, tenant, logs, admin_persona,
                                                                               tmp_path):
    for chunk in (tmp_path / "primary").rglob("*.jsonl.zst"):
        if "/signin/" in chunk.as_posix():
            chunk.unlink()  # the sign-ins are older than every audit record: the stream starts fine, then fails
    client.force_login(admin_persona)
    export = reverse("restore:log_export", args=[tenant.pk])
    text = _export(client.get(export, {"format": "json"})).decode()
    assert "EXPORT INCOMPLETE: Log repository Primary" in text and "is missing" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # never mistaken for a complete export
    rows = list(csv.reader(io.StringIO(_export(client.get(export, {"format": "csv"})).decode())))
    assert len(rows) == 1 + 60 + 1 and rows[-1][0] == "EXPORT INCOMPLETE"  # header, the audits, the notice
