"""The log explorer in a real browser, on a tenant whose audit log was backed up from the Graph emulator by a
real log session (run in-process, as the retention test does: no proxy needed to fill a repository)."""

import json

import pytest

from conftest import ADMIN_PASSWORD
from jobs.logbackup.services import log_job_create
from jobs.logrunner import log_session_run
from jobs.models import BackupSession, LogSession
from jobs.runner import session_run
from repositories.log_services import log_repository_add

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SCRIPT = "<script>window.pwned = 1</script>"


@pytest.fixture
def backed_logs(backed_tenant, emulator, tmp_path, settings):
    """A restore point, then three audited changes in the emulated tenant (one renames a user to a script),
    their audit log backed up."""
    tenant, job, info = backed_tenant
    settings.LOG_REPOSITORY_ROOTS, settings.CACHE_DIR = [tmp_path], tmp_path / "cache"
    backup = session_run(session_id=BackupSession.objects.create(job=job, tenant=tenant).pk)  # a restore point
    assert backup.status == "success", backup.log
    users = emulator.control.export(info["tenant_id"])["users"][:2]
    emulator.control.mutate(info["tenant_id"], "update_user", id=users[0]["id"], properties={"jobTitle": "Lead"})
    emulator.control.mutate(info["tenant_id"], "update_user", id=users[0]["id"], properties={"jobTitle": "Chief"})
    emulator.control.mutate(info["tenant_id"], "update_user", id=users[1]["id"], properties={"displayName": SCRIPT},
                            actor="attacker")
    primary = log_repository_add(name="Primary", kind="directory", path=str(tmp_path / "primary"))
    job = log_job_create(tenant=tenant, primary=primary, log_types=["audit"])
    session = log_session_run(session_id=LogSession.objects.create(job=job, tenant=tenant).pk)
    assert session.status == "success", session.log
    return tenant, users


def _login(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.django_db(transaction=True)
def test_an_operator_finds_a_change_opens_it_and_exports_the_picked_records(live_server, page, admin_persona,
                                                                           backed_logs):
    tenant, users = backed_logs
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _login(page, live_server)
    page.get_by_role("link", name="Logs", exact=True).click()
    page.get_by_role("row", name=tenant.name).get_by_role("link", name="Search logs").click()

    # Hostile names are shown as text, never run.
    assert SCRIPT in page.locator("#log-rows").inner_text()
    assert page.evaluate("window.pwned") is None and dialogs == []

    page.fill("#id_target", users[0]["id"])
    page.fill("#id_activity", "Update user")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**target=*")  # HTMX pushed the filters into the address
    rows = page.locator("#log-rows tbody tr")
    assert rows.count() == 2 and "2 records match" in page.locator("#log-count").inner_text()

    # Newest first: the second change; its detail is read from the chunk, old -> new.
    rows.first.get_by_role("link").click()
    changes = [row.split("\t") for row in page.locator("section.target tbody tr").all_inner_texts()]
    assert ["jobTitle", "Lead", "→", "Chief"] in changes
    assert "Update user" in page.locator("#record-what").inner_text()
    page.go_back()

    rows = page.locator("#log-rows tbody tr")
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=checkbox]").check()
    picked = [rows.nth(n).locator("input[type=checkbox]").get_attribute("value").split(".", 2)[2] for n in (0, 1)]
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as JSON").click()
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert [r["id"] for r in exported] == picked
    assert [r["targetResources"][0]["modifiedProperties"][0]["newValue"] for r in exported] == ['["Chief"]', '["Lead"]']

    # Revert the two picked changes: they are shown once more, then handed to a restore plan.
    page.get_by_role("button", name="Revert these changes").click()
    assert page.locator("#revert-records tbody tr").count() == 2
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_url("**/restore/plans/*/")
    assert "jobTitle" in page.locator("body").inner_text()
    page.go_back()
    page.go_back()

    # A malformed date is a clear message in the page, not an error page.
    page.fill("#id_start", "last tuesday")
    page.get_by_role("button", name="Search").click()
    assert "Not a date or time: 'last tuesday'" in page.locator("#log-rows .errorlist").inner_text()
