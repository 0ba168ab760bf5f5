"""The audit trail page, its export and verification, the sign-in entries, and the export command."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audittrail.models import Entry
from audittrail.trail import record

pytestmark = pytest.mark.django_db
LIST = reverse("audittrail:entry_list")
EXPORT = reverse("audittrail:entry_export")


@pytest.fixture
def auditor(django_user_model):
    user = django_user_model.objects.create_user(username="sam", password="pw")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="audittrail", codename="view_entry"))
    return user


def test_only_users_allowed_to_see_the_trail_open_it(client, outsider_persona, auditor):
    client.force_login(outsider_persona)
    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert client.post(reverse("audittrail:entry_verify")).status_code == 403
    client.force_login(auditor)
    assert client.get(LIST).status_code == 200


def test_the_page_filters_by_action_user_result_and_time(client, auditor):
    record("tenant.update", target="tenant A", user=auditor)
    record("session.cancel", target="backup session 7", result="failed")
    record("session.start", target="backup session 8")
    client.force_login(auditor)
    assert _targets(client, action="session.*") == ["backup session 8", "backup session 7"]
    assert _targets(client, action="session.cancel", result="failed") == ["backup session 7"]
    assert _targets(client, username="sam", action="tenant.update") == ["tenant A"]
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert _targets(client, start=tomorrow) == []
    assert "tenant A" in _targets(client, stop=tomorrow)


def test_hostile_names_are_shown_escaped(client, auditor):
    record("tenant.update", target="tenant '<script>alert(1)</script>'", detail={"name": "<img src=x onerror=1>"})
    client.force_login(auditor)
    page = client.get(LIST).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page


def _targets(client, **query) -> list[str]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return [entry.target for entry in response.context["entries"]]


def test_the_page_pages_on_the_server(client, auditor):
    for n in range(120):
        record("test.many", target=f"n{n}")
    client.force_login(auditor)
    first = client.get(LIST, {"action": "test.many"})
    assert [e.target for e in first.context["entries"]][:2] == ["n119", "n118"]
    second = client.get(LIST, {"action": "test.many", "before": first.context["older"]})
    third = client.get(LIST, {"action": "test.many", "before": second.context["older"]})
    assert len(second.context["entries"]) == 50 and third.context["entries"][-1].target == "n0"
    assert third.context["older"] is None


@pytest.mark.parametrize("query, message", [
    ({"start": "yesterday"}, "is not an ISO 8601 date or time"),
    ({"start": "2026-11-30", "stop": "2026-11-01"}, "must be before its end"),
    ({"before": "-3"}, "greater than or equal to 1"),
    ({"tenant": "abc"}, "Select a valid choice"),
])
def test_bad_filters_are_a_clear_400(client, auditor, query, message):
    client.force_login(auditor)
    response = client.get(LIST, query)
    assert response.status_code == 400 and message in response.content.decode()
    assert client.get(EXPORT, query).status_code == 400


def test_the_csv_export_is_safe_in_a_spreadsheet_and_is_recorded(client, auditor):
    record("test.hostile", target='=HYPERLINK("http://evil")', detail={"note": "+1"})
    record("test.hostile", target="@SUM(A1)")
    client.force_login(auditor)
    response = client.get(EXPORT, {"action": "test.hostile", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["target"] for row in rows] == ["'=HYPERLINK(\"http://evil\")", "'@SUM(A1)"]
    export = Entry.objects.get(action="export.audit_trail")
    assert export.username == "sam" and export.detail == {"action": "test.hostile"}


def test_the_json_export_keeps_the_hashes(client, auditor):
    entry = record("test.json", detail={"n": 1})
    client.force_login(auditor)
    response = client.get(EXPORT, {"action": "test.json", "format": "json"})
    rows = json.loads(b"".join(response.streaming_content))
    assert [(row["id"], row["hash"], row["detail"]) for row in rows] == [(entry.id, entry.hash, {"n": 1})]


def test_the_verify_page_tells_an_intact_trail_from_a_tampered_one(client, auditor):
    entries = [record("test.step", target=str(n)) for n in range(3)]
    client.force_login(auditor)
    assert "Intact" in client.post(reverse("audittrail:entry_verify")).content.decode()
    with connection.cursor() as cursor:  # an attacker with database access
        cursor.execute("ALTER TABLE audittrail_entry DISABLE TRIGGER audittrail_entry_no_update_delete")
        cursor.execute("UPDATE audittrail_entry SET target = 'nothing' WHERE id = %s", [entries[1].id])
    page = client.post(reverse("audittrail:entry_verify")).content.decode()
    assert "Tampered with" in page and f"entry {entries[1].id} was changed" in page
    assert Entry.objects.filter(action="audit_trail.verify").latest("id").result == "failed"


def test_sign_in_success_failure_and_lockout_are_recorded(client, settings, django_user_model):
    django_user_model.objects.create_user(username="rita", password="a-long-password-1")
    settings.AXES_FAILURE_LIMIT = 2
    login = reverse("accounts:login")
    for _ in range(2):
        client.post(login, {"username": "rita", "password": "wrong"}, REMOTE_ADDR="198.51.100.4")
    client.post(login, {"username": "rita", "password": "a-long-password-1"}, REMOTE_ADDR="198.51.100.4")
    client.post(login, {"username": "rita", "password": "a-long-password-1"}, REMOTE_ADDR="198.51.100.5")
    actions = list(Entry.objects.order_by("id").values_list("action", "result", "ip", "username"))
    assert ("signin.failure", "failed", "198.51.100.4", "") in actions
    assert ("signin.lockout", "denied", "198.51.100.4", "") in actions
    assert actions[-1] == ("signin.success", "ok", "198.51.100.5", "rita")
    assert "wrong" not in str(list(Entry.objects.values_list("detail", "target")))


@pytest.mark.parametrize("args, message", [
    (["--from", "30/11/2026"], "is not an ISO 8601 date or time"),
    (["--to", "2000-01-01"], "must be before its end"),
    (["--output", "/nonexistent-folder/trail.json"], "the folder /nonexistent-folder does not exist"),
    (["--output", "/tmp"], "is a directory"),
])
def test_the_export_command_refuses_bad_input_clearly(args, message):
    options = {"--from": "2026-01-01", "--to": "2026-12-31", "--format": "csv", "--output": "/tmp/x.csv"}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError, match=message):
        call_command("audit_trail_export", *[part for pair in options.items() for part in pair])


def test_the_export_command_writes_the_range_asked_for(tmp_path):
    record("test.export", target="-2+3")
    out = tmp_path / "trail.csv"
    today = timezone.now().date().isoformat()
    call_command("audit_trail_export", "--from", today, "--to", today, "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader(out.open(newline="")))
    assert [row["target"] for row in rows] == ["'-2+3"]
    call_command("audit_trail_export", "--from", "2000-01-01", "--to", "2000-01-02", "--format", "json",
                 "--output", str(tmp_path / "empty.json"))
    assert json.loads((tmp_path / "empty.json").read_text()) == []


def test_the_verify_command_fails_on_a_tampered_trail_and_checks_a_kept_head(capsys):
    entries = [record("test.step", target=str(n)) for n in range(3)]
    call_command("audit_trail_verify", "--head", f"{entries[1].id}:{entries[1].hash}")
    assert "intact" in capsys.readouterr().out
    with pytest.raises(CommandError, match="tampered with: 1 problem "):
        call_command("audit_trail_verify", "--head", f"{entries[1].id}:{'0' * 64}")
    assert "is not the entry of the head kept earlier" in capsys.readouterr().err
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audittrail_entry DISABLE TRIGGER audittrail_entry_no_update_delete")
        cursor.execute("DELETE FROM audittrail_entry WHERE id = %s", [entries[0].id])
    with pytest.raises(CommandError, match="tampered with"):
        call_command("audit_trail_verify")
