"""The audit trail's core: who is recorded, what is kept out, and that the chain finds a tampered row."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory

from accounts.services import role_assign
from audittrail import chain
from audittrail.models import Entry
from audittrail.trail import REDACTED, record
from entrabackup import graph
from jobs.models import BackupJob
from repositories.models import Repository
from tenants import services

pytestmark = pytest.mark.django_db


def _attacker(sql: str, params=()) -> None:
    """What someone with direct database access can do: switch the append-only trigger off, then write."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audittrail_entry DISABLE TRIGGER audittrail_entry_no_update_delete")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audittrail_entry ENABLE TRIGGER audittrail_entry_no_update_delete")


def _five() -> list[Entry]:
    return [record("test.step", target=f"step {n}", detail={"n": n}) for n in range(5)]


def test_an_intact_chain_verifies():
    entries = _five()
    report = chain.verify()
    assert report.ok, report.problems
    assert report.checked == len(entries) and report.head_id == entries[-1].id


def test_an_edited_row_is_detected():
    entries = _five()
    _attacker("UPDATE audittrail_entry SET result = 'ok', detail = '{\"n\": 99}' WHERE id = %s", [entries[2].id])
    problems = chain.verify().problems
    assert [entry_id for entry_id, _ in problems] == [entries[2].id]
    assert "changed after it was written" in problems[0][1]


def test_a_deleted_row_is_detected():
    entries = _five()
    _attacker("DELETE FROM audittrail_entry WHERE id = %s", [entries[1].id])
    problems = chain.verify().problems
    assert problems and problems[0][0] == entries[2].id and "missing" in problems[0][1]


def test_a_row_replaced_with_a_forged_one_is_detected():
    """The forger deletes a row and inserts one with the same id and a self-consistent hash."""
    entries = _five()
    forged = {name: getattr(entries[3], name) for name in chain.HASHED_FIELDS}
    forged["action"] = "test.harmless"
    forged["prev_hash"] = "f" * 64
    _attacker("DELETE FROM audittrail_entry WHERE id = %s", [entries[3].id])
    Entry.objects.create(**forged, hash=chain.entry_hash(forged))
    problems = chain.verify().problems
    assert [entry_id for entry_id, _ in problems] == [entries[3].id, entries[4].id]


def test_removing_the_newest_rows_is_detected():
    entries = _five()
    _attacker("DELETE FROM audittrail_entry WHERE id >= %s", [entries[3].id])
    problems = chain.verify().problems
    assert problems == [(None, f"the newest entries are missing: the chain ends at entry {entries[2].id}, "
                               f"but entry {entries[4].id} was written")]


@pytest.mark.parametrize("sql", ["UPDATE audittrail_entry SET action = 'x'", "DELETE FROM audittrail_entry",
                                 "TRUNCATE audittrail_entry"])
def test_the_database_refuses_to_change_or_remove_rows(sql):
    _five()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL entrabackup.audittrail_truncate = ''")  # the test settings allow TRUNCATE
        cursor.execute(sql)
    assert Entry.objects.count() == 5


def test_a_request_is_recorded_with_its_user_address_and_agent(settings, django_user_model):
    user = django_user_model.objects.create_user(username="rita", password="pw")
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7",
                                   HTTP_USER_AGENT="Firefox\x00\x1b[31m")
    request.user = user
    settings.REVERSE_PROXY_COUNT = 0  # the forwarded header is the client's word: not trusted
    entry = record("test.page", request=request)
    assert (entry.actor, entry.user_id, entry.username, entry.ip, entry.user_agent) == (
        "user", user.pk, "rita", "10.0.0.9", "Firefox[31m")
    settings.REVERSE_PROXY_COUNT = 1  # one trusted proxy: the address it saw
    assert record("test.page", request=request).ip == "192.0.2.7"


def test_secrets_never_reach_the_trail():
    entry = record("test.secret", detail={"client_secret": "s3cr3t", "nested": [{"password": "pw", "ok": 1}],
                                         "Authorization": "Bearer abc", "name": "kept\x00"})
    entry.refresh_from_db()
    assert entry.detail == {"client_secret": REDACTED, "nested": [{"password": REDACTED, "ok": 1}],
                            "Authorization": REDACTED, "name": "kept"}
    assert chain.verify().ok


def test_odd_json_survives_the_round_trip_through_postgresql():
    record("test.json", detail={"big": 1e16, "nan": float("nan"), "small": 0.1, "text": "\ud800x", "n": 10**20})
    assert chain.verify().ok


def test_a_tenant_change_is_recorded_field_by_field_without_the_secret():
    tenant = services.tenant_create(name="Contoso", directory_id="contoso.example",
                                    client_id="11111111-2222-3333-4444-555555555555",
                                    credential=graph.ClientSecret("very-secret-value"), cloud="custom",
                                    authority_url="https://login.example", graph_url="https://graph.example")
    created = Entry.objects.get(action="tenant.create")
    assert (created.tenant_id, created.tenant_name, created.detail["fields"]["name"]) == (tenant.pk, "Contoso",
                                                                                          "Contoso")
    services.tenant_set_credential(tenant=tenant, credential=graph.ClientSecret("another-secret"))
    tenant.name = "Contoso Ltd"
    tenant.save()
    updates = [entry.detail["changed"] for entry in Entry.objects.filter(action="tenant.update").order_by("id")]
    assert updates[0]["sealed_credential"] == REDACTED  # the field is named, its value never
    assert updates[-1] == {"name": {"from": "Contoso", "to": "Contoso Ltd"}}
    text = str(list(Entry.objects.values_list("detail", flat=True)))
    assert "secret-value" not in text and "another-secret" not in text


def test_removing_a_tenant_records_its_jobs_and_itself():
    tenant = services.tenant_create(name="Contoso", directory_id="contoso.example",
                                    client_id="11111111-2222-3333-4444-555555555555",
                                    credential=graph.ClientSecret("s"))
    repository = Repository.objects.create(name="Local", database="audit_test_repository")
    job = BackupJob.objects.create(name="nightly", tenant=tenant, repository=repository)
    tenant_pk, job_pk = tenant.pk, job.pk
    tenant.delete()
    removed = list(Entry.objects.filter(action__endswith=".remove").order_by("id")
                   .values_list("action", "target", "tenant_name"))
    assert removed == [("job.remove", f"job 'nightly' ({job_pk})", "Contoso"),
                       ("tenant.remove", f"tenant 'Contoso' ({tenant_pk})", "Contoso")]


def test_bookkeeping_saves_record_nothing(django_user_model):
    user = django_user_model.objects.create_user(username="rita", password="pw")
    before = Entry.objects.count()
    user.save(update_fields=["last_login"])
    user.save()  # nothing changed
    assert Entry.objects.count() == before


def test_role_membership_changes_are_recorded(django_user_model):
    user = django_user_model.objects.create_user(username="rita", password="pw")
    group = Group.objects.create(name="Restore operators")
    user.groups.add(group)
    entry = Entry.objects.filter(action="user.update").latest("id")
    assert entry.detail == {"groups": {"added": ["Restore operators"]}}


def test_role_assignments_are_recorded_with_their_tenants(django_user_model):
    user = django_user_model.objects.create_user(username="rita", password="pw")
    tenant = services.tenant_create(name="Contoso", directory_id="contoso.example",
                                    client_id="11111111-2222-3333-4444-555555555555",
                                    credential=graph.ClientSecret("s"))
    before = Entry.objects.count()
    role_assign(user=user, role="restore", tenants=[tenant])
    role_assign(user=user, role="restore", tenants=[tenant])  # the same again: nothing changed
    entries = list(Entry.objects.filter(id__gt=before).order_by("id").values_list("action", "target", "detail"))
    assert [(action, detail.get("tenants")) for action, _, detail in entries] == [
        ("role_assignment.create", None), ("role_assignment.update", {"added": ["Contoso"]})]
    assert "of user 'rita'" in entries[0][1]


def test_a_command_is_recorded_with_its_name_os_user_and_host(tmp_path):
    call_command("audit_trail_export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "json",
                 "--output", str(tmp_path / "trail.json"))
    entry = Entry.objects.get(action="export.audit_trail")
    assert entry.actor == "command" and entry.command == "audit_trail_export"
    assert entry.os_user and entry.host and entry.user_id is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain():
    errors = []

    def write(n):
        try:
            for step in range(15):
                record("test.concurrent", target=f"writer {n} step {step}")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = chain.verify()
    assert report.ok and report.checked == 60
