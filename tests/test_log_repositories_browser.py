"""An administrator adds an encrypted log repository and runs its health check in a real browser."""

import pytest

from conftest import ADMIN_PASSWORD
from repositories.models import LogRepository


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_adding_an_encrypted_log_repository_warns_first_and_checks(live_server, page, admin_persona, settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path / "roots"]
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/repositories/")
    assert str(settings.CACHE_DIR) in page.locator("#cache-dir").inner_text()
    page.get_by_role("link", name="Add a log repository").click()

    warning = page.locator("#lost-password-warning")
    assert warning.is_visible() and "cannot be recovered" in warning.inner_text()
    assert warning.bounding_box()["y"] < page.locator("#id_password").bounding_box()["y"]
    page.fill("#id_name", "Cold logs")
    page.fill("#id_path", "cold")
    page.fill("#id_retention_days", "400")
    page.check("#id_encrypt")
    page.fill("#id_password", "a long pass phrase")
    page.fill("#id_password_again", "a long pass phrase")
    page.fill("#id_password_hint", "second drawer")
    page.get_by_role("button", name="Add", exact=True).click()
    assert "Confirm that you keep the password safe" in page.locator("#field-lost_password_understood").inner_text()
    assert not LogRepository.objects.exists()

    page.fill("#id_password", "a long pass phrase")
    page.fill("#id_password_again", "a long pass phrase")
    page.check("#id_lost_password_understood")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(f"{live_server.url}/repositories/")
    row = page.locator("#log-repositories tr", has_text="Cold logs")
    assert "400 days" in row.inner_text() and "hint: second drawer" in row.inner_text()
    row.get_by_role("button", name="Run a check").click()
    page.wait_for_url(f"{live_server.url}/repositories/")
    assert "all sound" in page.locator("body").inner_text()
    assert "sound" in page.locator("#log-repositories tr", has_text="Cold logs").inner_text()
