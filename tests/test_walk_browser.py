"""A new user's walk through the product in headless Chromium, against the Graph emulator and a real backup
proxy: sign in, register the demo tenant, back it up twice, compare the restore points, plan and apply a
restore, and search the backed-up audit log. Every step leaves a full-page screenshot in the test's output
folder (`walk-screenshots`, printed), so a person can look at what the user saw."""

from pathlib import Path

import pytest

from conftest import ADMIN_PASSWORD
from jobs.logbackup.services import log_job_create, log_session_create
from jobs.models import LogSession
from repositories.log_services import log_repository_add
from restore.models import RestoreSession
from tenants.models import Tenant
from tests.conftest import FULL_ROLES
from tests.support.processes import backup_proxy, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


class Walk:
    """The page and the folder its numbered screenshots go to."""

    def __init__(self, page, base: str, folder: Path):
        self.page, self.base, self.folder, self.count = page, base, folder, 0

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)

    def nav(self, label: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()

    def run_backup_and_watch(self) -> str:
        """Press "Run now" on the only job and wait on the session page until htmx shows it finished."""
        self.nav("Jobs")
        self.page.get_by_role("button", name="Run now").click()
        self.page.wait_for_url(f"{self.base}/jobs/sessions/*/")
        finished = "[id^=session-] .badge.status-success, [id^=session-] .badge.status-warning"
        self.page.locator(finished).wait_for(timeout=90_000)
        return self.page.locator("[id^=session-] strong").first.inner_text()  # the restore point id


def _register_tenant(walk: Walk, emulator, info: dict, app: dict) -> None:
    page = walk.page
    walk.nav("Tenants")
    page.get_by_role("link", name="Register a tenant").click()
    page.fill("#id_name", "Contoso")
    page.fill("#id_directory_id", info["tenant_id"])
    page.fill("#id_client_id", app["client_id"])
    page.select_option("#id_cloud", "custom")
    page.fill("#id_authority_url", emulator.url)
    page.fill("#id_graph_url", emulator.url)
    page.set_input_files("#id_ca_bundle", emulator.ca_path)
    for feature in ("directory_backup", "log_backup", "conditional_access", "restore"):
        page.check(f"input[name=features][value={feature}]")
    page.check("input[name=credential_kind][value=secret]")
    page.fill("#id_client_secret", app["client_secret"])
    walk.shot("tenant-register")
    page.get_by_role("button", name="Register").click()
    page.get_by_role("button", name="Test connection").click()
    page.locator("section.check .badge.status-ok").wait_for(timeout=30_000)
    walk.shot("tenant-ready")


def _add_job(walk: Walk) -> None:
    walk.nav("Jobs")
    walk.page.get_by_role("link", name="Add a job").click()
    walk.page.select_option("#id_tenant", label="Contoso")
    walk.shot("job-add")
    walk.page.get_by_role("button", name="Create").click()
    walk.page.get_by_role("cell", name="Contoso directory backup").wait_for()


def _start_log_backup(tmp_path: Path, settings) -> LogSession:
    """A log backup of the audit log on the proxy, alongside the rest of the walk (log backups have no page
    to start one: `logs_backup_run` or the scheduler does)."""
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    primary = log_repository_add(name="Audit logs", kind="directory", path=str(tmp_path / "logs"))
    job = log_job_create(tenant=Tenant.objects.get(name="Contoso"), primary=primary, log_types=["audit"])
    return log_session_create(job=job)


@pytest.mark.django_db(transaction=True)
def test_a_new_user_walks_from_sign_in_to_a_restore_and_a_log_search(live_server, page, admin_persona, emulator,
                                                                      clean_repository_database, tmp_path, settings):
    folder = tmp_path / "walk-screenshots"
    folder.mkdir()
    print(f"\nWalk screenshots: {folder}")
    info = emulator.control.create_tenant(seed=77, users=25, licence="P2", name="Contoso")
    app = emulator.control.register_app(info["tenant_id"], roles=FULL_ROLES, display_name="entrabackup walk")
    walk = Walk(page, live_server.url, folder)

    # The proxy starts first: it comes up while the user signs in and registers the tenant.
    with backup_proxy(workers=2, ENTRABACKUP_CACHE_DIR=str(tmp_path / "cache"),
                      ENTRABACKUP_LOG_REPOSITORY_ROOTS=str(tmp_path)):
        page.goto(f"{live_server.url}/")
        page.fill("#id_username", admin_persona.username)
        page.fill("#id_password", ADMIN_PASSWORD)
        walk.shot("sign-in")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        walk.shot("dashboard-empty")

        _register_tenant(walk, emulator, info, app)
        _add_job(walk)
        truth = emulator.control.export(info["tenant_id"])
        victim = next(u for u in truth["users"] if not u.get("onPremisesSyncEnabled"))
        first = walk.run_backup_and_watch()
        walk.shot("backup-finished")
        emulator.control.mutate(info["tenant_id"], "update_user", id=victim["id"], properties={"jobTitle": "Owned"})
        second = walk.run_backup_and_watch()
        assert int(second) > int(first)
        logs = _start_log_backup(tmp_path, settings)  # the edit is in the audit log by now

        # Compare: the change between the two restore points, from the restore point list.
        walk.nav("Restore")
        page.get_by_role("link", name="2", exact=True).click()
        page.get_by_role("link", name=f"Changes since {first}").click()
        report = page.locator("#compare-report")
        report.get_by_role("cell", name="jobTitle").wait_for()
        assert "Owned" in report.locator(f"tr[data-object-id='{victim['id']}']").first.inner_text()
        walk.shot("compare")

        # Plan the restore of what changed back to the first restore point, from the report itself.
        page.get_by_role("button", name="Plan a restore of these").click()
        page.wait_for_url(f"{live_server.url}/restore/plans/*/")
        steps = page.locator("#plan-steps")
        assert "jobTitle: Owned" in steps.inner_text()
        walk.shot("plan")
        page.fill("#id_reason", "walk: put the job title back")
        page.locator("#apply-form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/restore/sessions/*/")
        page.locator("[id^=restore-session-] .badge.status-success").wait_for(timeout=90_000)
        walk.shot("restore-finished")
        logs = wait_for(lambda: LogSession.objects.filter(pk=logs.pk, status__in=LogSession.FINISHED).first(), 60)
    assert logs.status == "success", logs.log
    assert RestoreSession.objects.get().status == "success"
    restored = next(u for u in emulator.control.export(info["tenant_id"])["users"] if u["id"] == victim["id"])
    assert restored.get("jobTitle") == victim.get("jobTitle")

    # Logs: search the backed-up audit log for the change.
    walk.nav("Logs")
    page.get_by_role("row", name="Contoso").get_by_role("link", name="Search logs").click()
    page.fill("#id_target", victim["id"])
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**target=*")
    assert "Update user" in page.locator("#log-rows tbody tr").first.inner_text()
    walk.shot("log-search")
    assert len(list(folder.glob("*.png"))) == walk.count >= 10
