"""A person logs in with a real browser and sees the dashboard."""

import pytest

from conftest import ADMIN_PASSWORD


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_logs_in_and_sees_the_dashboard(live_server, page, admin_persona):
    page.goto(f"{live_server.url}/jobs/")
    assert "/accounts/login/" in page.url  # sent to the login page first

    page.fill("#id_username", "alice")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/jobs/")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Tenants", "Jobs", "Sessions", "Restore", "Logs", "Repositories", "Admin"):
        assert nav.get_by_role("link", name=label).is_visible()
    assert page.evaluate("typeof htmx") == "object"  # htmx loaded from our own static files
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_an_error_in_the_browser(live_server, page, admin_persona):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.get_by_role("alert").inner_text()
