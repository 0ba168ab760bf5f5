"""Compare end to end: changes played on the emulator between two backups are each found in the change report
(command JSON and CSV, the pages, a real browser), in the objects' histories with the audit records that
explain them, and a restore point compared with production shows exactly what changed since.

Real parts: the Graph emulator, msal, the backup runner (in process), the local PostgreSQL repository, the log
backup and its index, Django's pages, headless Chromium.
"""

import csv
import io
import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils.html import escape

from graph_emulator.generator.names import HOSTILE_USER_NAME
from jobs.logbackup.services import log_job_create, log_session_create
from jobs.logrunner import log_session_run
from jobs.runner import session_run
from jobs.services import session_create
from repositories.log_services import log_repository_add
from restore.models import RestorePlan
from restore.selectors import PRODUCTION, PointSpec
from restore.services import tenant_compare

pytestmark = [pytest.mark.e2e]


def _backup(job) -> int:
    session = session_create(job=job)
    session_run(session_id=session.pk)
    session.refresh_from_db()
    assert session.status == "success", session.error
    return session.restore_point_id


def _play(control, tid: str, truth: dict) -> dict:
    """The attacks of issue 11 this slice must see: an attribute edit, a Conditional Access policy switched
    off, a member and an owner removed, a credential added to an application, a new Global Administrator, a
    user soft-deleted and one deleted for good."""
    users = [u for u in truth["users"] if not u.get("onPremisesSyncEnabled") and u["displayName"] != HOSTILE_USER_NAME]
    group = next(g for g in truth["groups"] if not g.get("membershipRule") and not g.get("onPremisesSyncEnabled")
                 and len(truth["group_members"].get(g["id"], [])) > 1)
    member = next(u for u in truth["users"] if u["id"] in truth["group_members"][group["id"]])
    policy = next(p for p in truth["conditionalAccessPolicies"] if p["state"] == "enabled")
    edited, admin, soft, hard = users[0], users[3], users[1], users[2]
    control.mutate(tid, "update_user", id=edited["id"], properties={"jobTitle": "Chief Restorer"})
    control.mutate(tid, "disable_ca_policy", id=policy["id"])
    control.mutate(tid, "remove_member", group_id=group["id"], member_id=member["id"])
    control.mutate(tid, "make_global_admin", user_id=admin["id"])
    control.mutate(tid, "delete_user", id=soft["id"])
    control.mutate(tid, "hard_delete", id=hard["id"])
    app, owner = next((a, o[0]) for a, o in truth["application_owners"].items() if o and o[0] not in (soft["id"], hard["id"]))
    control.mutate(tid, "remove_owner", object_id=app, owner_id=owner)
    control.mutate(tid, "add_app_credential", app_id=app, display_name="backdoor")
    hostile = next(u for u in truth["users"] if u["displayName"] == HOSTILE_USER_NAME)  # tenant data is hostile
    control.mutate(tid, "update_user", id=hostile["id"], properties={"jobTitle": "<img src=x onerror=alert(3)>"})
    return {"app": app, "owner": owner, "edited": edited, "policy": policy, "group": group, "member": member, "admin": admin, "soft": soft,
            "hard": hard}


def _log_backup(tenant, control, tid, tmp_path):
    control.configure(tid, arrival_delays={"enabled": False})
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = log_repository_add(name="Audit", kind="directory", path=str(tmp_path / "audit"))
    job = log_job_create(tenant=tenant, primary=primary, log_types=["audit"])
    session = log_session_create(job=job)
    log_session_run(session_id=session.pk)
    session.refresh_from_db()
    assert session.status in ("success", "warning"), session.log


def _named(user: dict) -> str:
    return f"{user['displayName']} ({user['userPrincipalName']})"


def _command(tenant, fmt: str, path, *extra) -> str:
    call_command("compare", "--tenant", tenant.name, "--from", str(extra[0]), "--to", str(extra[1]), *extra[2:],
                 "--format", fmt, "--output", str(path), stdout=io.StringIO())
    return path.read_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_changes_played_between_two_backups_are_each_in_the_compare_report_and_the_histories(
        backed_tenant, emulator, tmp_path, client, admin_persona, live_server, page, settings):
    tenant, job, info = backed_tenant
    tid, control = info["tenant_id"], emulator.control
    first = _backup(job)
    played = _play(control, tid, control.export(tid))
    second = _backup(job)
    _log_backup(tenant, control, tid, tmp_path)

    # The command: JSON with every change by name, old and new values.
    report = json.loads(_command(tenant, "json", tmp_path / "r.json", first, second))
    changes = {(c["type"], c["object_id"]): c for c in report["changes"]}
    edited = changes[("user", played["edited"]["id"])]
    assert {"name": "jobTitle", "old": played["edited"].get("jobTitle"), "new": "Chief Restorer"} in edited["attributes"]
    policy = changes[("conditionalAccessPolicy", played["policy"]["id"])]
    assert policy["attributes"] == [{"name": "state", "old": "enabled", "new": "disabled"}]  # no modifiedDateTime
    group = changes[("group", played["group"]["id"])]
    removed = {(r["relationship"], r["other"]["name"], r["change"], r["other"]["state"]) for r in group["relations"]}
    assert ("member", _named(played["member"]), "removed", None) in removed
    assert removed - {("member", _named(played["member"]), "removed", None)} <= {  # a deleted user leaves its groups
        ("member", _named(played[k]), "removed", k) for k in ("soft", "hard")}
    roles = [c for c in report["changes"] if c["type"] == "directoryRole" and c["name"] == "Global Administrator"]
    assert [(r["other"]["name"], r["change"]) for r in roles[0]["relations"]] == [(_named(played["admin"]), "added")]
    assert any(c["type"] == "roleAssignment" and c["name"] == f"Global Administrator → {_named(played['admin'])}"
               for c in report["changes"])
    assert (changes[("user", played["soft"]["id"])]["change"], changes[("user", played["soft"]["id"])]["deleted"]) == ("deleted", "soft")
    assert changes[("user", played["hard"]["id"])]["deleted"] == "hard"
    application = changes[("application", played["app"])]
    assert [a["name"] for a in application["attributes"]] == ["passwordCredentials"]
    assert "backdoor" in json.dumps(application["attributes"][0]["new"])
    assert [(r["relationship"], r["other"]["object_id"], r["change"]) for r in application["relations"]] == [
        ("owner", played["owner"], "removed")]
    assert not any(r["other"]["label"].startswith("unknown") for c in report["changes"] for r in c["relations"])

    # CSV, limited to users; hostile cells cannot become spreadsheet formulas.
    rows = list(csv.DictReader(io.StringIO(_command(tenant, "csv", tmp_path / "r.csv", first, second, "--types", "user"))))
    assert {r["type"] for r in rows} == {"user"}
    assert {"type": "user", "object_id": played["edited"]["id"], "object": _named(played["edited"]), "change": "changed",
            "attribute": "jobTitle", "old": played["edited"].get("jobTitle") or "", "new": "Chief Restorer"} in rows
    with pytest.raises(CommandError, match="unknown object type 'usr'"):
        _command(tenant, "json", tmp_path / "x.json", first, second, "--types", "usr")
    with pytest.raises(CommandError, match="no restore point 999"):
        _command(tenant, "json", tmp_path / "x.json", first, 999)
    with pytest.raises(CommandError, match="cannot write"):
        _command(tenant, "json", tmp_path / "missing" / "x.json", first, second)

    # Production: what changed since the last backup, and nothing else (same canonical form as the backup).
    control.mutate(tid, "update_user", id=played["admin"]["id"], properties={"department": "Shadow IT"})
    live = tenant_compare(tenant=tenant, source=PointSpec(None, second), target=PRODUCTION)
    assert [(c.object_id, [(a.name, a.new) for a in c.attributes]) for c in live.changes] == [
        (played["admin"]["id"], [("department", "Shadow IT")])]

    # The pages: the restore point's changes by name, a user's own history with its audit record.
    client.force_login(admin_persona)
    compare_url = reverse("restore:compare_view", args=[tenant.pk])
    html = client.get(compare_url, {"from": first, "to": second, "type": "group"}).content.decode()
    assert escape(_named(played["member"])) in html and played["member"]["id"] not in html.split("<tbody>")[1].replace(
        f'data-object-id="{played["member"]["id"]}"', "")
    users = client.get(compare_url, {"from": first, "to": second, "type": "user"}).content.decode()
    assert escape(HOSTILE_USER_NAME) in users and escape("<img src=x onerror=alert(3)>") in users
    assert "<script>" not in users and "<img src=x" not in users
    # The report hands its objects to a restore plan (reviewed before anything is written).
    ids, rp = re.search(r'name="ids" value="([^"]*)"', users)[1], re.search(r'name="rp" value="([^"]*)"', users)[1]
    assert played["edited"]["id"] in ids.split() and rp.endswith(str(first))
    planned = client.post(reverse("restore:plan_create", args=[tenant.pk]), {
        "scope": "ids", "rp": rp, "ids": ids, "relations": "merge", "ca_state": "keep"})
    assert planned.status_code == 302, planned.content.decode()[:3000]
    plan = RestorePlan.objects.get(tenant=tenant).plan
    assert {"op": "update", "object_id": played["edited"]["id"]}.items() <= next(
        s for s in plan["steps"] if s["object_id"] == played["edited"]["id"]).items()
    points = client.get(reverse("restore:restore_point_list", args=[tenant.pk])).content.decode()
    assert f"?from={job.repository.pk}:{first}&to={job.repository.pk}:{second}" in points
    detail = client.get(reverse("restore:object_detail", args=[tenant.pk, "user", played["admin"]["id"]])).content.decode()
    assert "holds role" in detail and "Global Administrator" in detail and "Add member to role" in detail
    group_page = client.get(reverse("restore:object_detail", args=[tenant.pk, "group", played["group"]["id"]])).content.decode()
    assert escape(_named(played["member"])) in group_page and "Remove member from group" in group_page
    deleted = client.get(reverse("restore:object_explorer", args=[tenant.pk]), {"state": "deleted"}).content.decode()
    assert escape(played["soft"]["displayName"]) in deleted and escape(played["hard"]["displayName"]) in deleted
    gone = client.get(reverse("restore:object_detail", args=[tenant.pk, "user", played["hard"]["id"]]))
    assert gone.status_code == 200 and "deleted (hard)" in gone.content.decode()
    export = client.get(reverse("restore:compare_export", args=[tenant.pk]), {"from": first, "to": second, "format": "csv"})
    assert export["Content-Disposition"].endswith('.csv"') and "Chief Restorer" in export.content.decode()
    assert client.get(compare_url, {"from": first, "to": "nonsense"}).status_code == 400

    # A browser: the report filters in place (htmx) and escapes what it shows.
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}{compare_url}?from={first}&to={second}")
    page.locator(".compare-table").get_by_text(HOSTILE_USER_NAME).first.wait_for()  # shown as text, not run
    page.select_option("#change", "deleted")
    page.wait_for_url("**change=deleted**")  # htmx swapped the report in place and pushed its URL
    page.wait_for_load_state("networkidle")
    kinds = page.locator(".compare-table tbody td:nth-child(3)").all_inner_texts()
    assert kinds and all(k.startswith("deleted") for k in kinds)
    assert played["soft"]["displayName"] in page.locator(".compare-table").inner_text()
    assert dialogs == []
