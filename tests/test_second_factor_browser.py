"""In a real browser: a user sets up an authenticator app from the QR code page, then signs in in two steps."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ADMIN_PASSWORD


def _code(device: TOTPDevice, drift: int = 0) -> str:
    """What the authenticator app shows (a code can be used once: the next step's code for the second use)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_enrol_from_the_qr_code_page_then_sign_in_with_the_code(live_server, page, admin_persona):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/accounts/second-factor/")
    assert page.locator("#second-factor-qr svg").is_visible()
    device = TOTPDevice.objects.get(user=admin_persona)
    page.fill("#id_code", _code(device))
    page.click("text=Confirm and turn on")
    assert page.get_by_text("Second factor on").is_visible()
    page.click("text=Log out")
    page.fill("#id_username", "alice")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    assert page.get_by_text("type the code your authenticator app shows").is_visible()
    page.fill("#id_code", _code(device, drift=1))
    page.click("button[type=submit]")
    assert page.locator(".who").inner_text() == "alice"
