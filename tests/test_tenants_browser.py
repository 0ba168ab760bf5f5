"""An operator registers a tenant and tests its connection in the browser (HTMX), against the emulator."""

import pytest

from conftest import ADMIN_PASSWORD
from tests.conftest import FULL_ROLES


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_operator_registers_a_tenant_and_tests_the_connection(live_server, page, operator_persona, emulator, emulated_tenant):
    app = emulator.control.register_app(emulated_tenant["tenant_id"], roles=FULL_ROLES, display_name="browser")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", operator_persona.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name="Register a tenant").click()

    page.fill("#id_name", "Contoso (browser)")
    page.fill("#id_directory_id", emulated_tenant["tenant_id"])
    page.fill("#id_client_id", app["client_id"])
    page.select_option("#id_cloud", "custom")
    page.fill("#id_authority_url", emulator.url)
    page.fill("#id_graph_url", emulator.url)
    page.set_input_files("#id_ca_bundle", emulator.ca_path)
    page.check("input[name=credential_kind][value=secret]")
    page.fill("#id_client_secret", app["client_secret"])
    page.get_by_role("button", name="Register").click()

    assert page.get_by_role("heading", name="Contoso (browser)").is_visible()
    assert "Not tested" in page.locator("section.check").inner_text()
    detail_url = page.url
    page.get_by_role("button", name="Test connection").click()
    page.locator("section.check .badge.status-ok").wait_for()
    assert page.url == detail_url  # swapped in place by htmx, no page load
    assert "Ready:" in page.locator("section.check").inner_text()
    assert app["client_secret"] not in page.content()
