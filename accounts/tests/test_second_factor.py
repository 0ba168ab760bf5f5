"""The optional TOTP second factor, strong password rules, and the break-glass local administrator."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from conftest import ADMIN_PASSWORD
from entrabackup import graph
from tenants.models import Tenant
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db
ADDRESS = "198.51.100.7"


def _code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def _wrong(device: TOTPDevice) -> str:
    return f"{(int(_code(device)) + 500_000) % 1_000_000:06d}"


@pytest.fixture(autouse=True)
def _no_device_delay(settings):
    """django-otp also waits 2^n seconds after n wrong codes; here the login throttle is what is tested."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def enrolled(admin_persona):
    device = TOTPDevice.objects.create(user=admin_persona, name="Authenticator app", confirmed=True)
    return device


def _password(client, password=ADMIN_PASSWORD):
    return client.post(reverse("accounts:login"), {"username": "alice", "password": password}, REMOTE_ADDR=ADDRESS)


def _code_step(client, code):
    return client.post(reverse("accounts:login_code"), {"code": code}, REMOTE_ADDR=ADDRESS)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_enrol_shows_a_qr_code_and_the_secret_then_a_code_confirms_it(client, admin_persona):
    client.force_login(admin_persona)
    page = client.get(reverse("accounts:second_factor")).content.decode()
    device = TOTPDevice.objects.get(user=admin_persona, confirmed=False)
    assert "<svg" in page and second_factor.device_secret(device) in page and "https://" not in page.split("<svg")[1][:200]
    response = client.post(reverse("accounts:second_factor_confirm"), {"code": _wrong(device)}, follow=True)
    assert "That code is not right" in response.content.decode() and not TOTPDevice.objects.get().confirmed
    response = client.post(reverse("accounts:second_factor_confirm"), {"code": _code(device)}, follow=True)
    assert "Second factor on" in response.content.decode() and TOTPDevice.objects.get().confirmed


def test_login_asks_for_the_code_after_the_password(client, enrolled):
    response = _password(client)
    assert response["Location"] == reverse("accounts:login_code") and not _logged_in(client)
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("accounts:login"))
    page = _code_step(client, _wrong(enrolled))
    assert "That code is not right" in page.content.decode() and not _logged_in(client)
    response = _code_step(client, _code(enrolled))
    assert response.status_code == 302 and _logged_in(client)
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_user_without_a_device_signs_in_with_the_password_alone(client, admin_persona):
    assert _password(client)["Location"] == reverse(settings.LOGIN_REDIRECT_URL) and _logged_in(client)


def test_wrong_codes_count_as_failed_logins_and_lock_the_code_step(client, enrolled):
    _password(client, "wrong-password")  # failures of both steps add up
    _password(client)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _code_step(client, _wrong(enrolled))
    assert AccessAttempt.objects.get(username="alice").failures_since_start == settings.AXES_FAILURE_LIMIT
    response = _code_step(client, _code(enrolled))  # the right code, too late
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)


def test_the_admin_login_cannot_skip_the_code(client, enrolled):
    client.post(reverse("admin:login"), {"username": "alice", "password": ADMIN_PASSWORD}, REMOTE_ADDR=ADDRESS)
    response = client.get(reverse("admin:index"))
    assert response["Location"] == reverse("accounts:login_code") and not _logged_in(client)
    _code_step(client, _code(enrolled))
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_user_removes_their_device_with_a_code(client, enrolled):
    client.force_login(enrolled.user)
    second_factor_session(client, enrolled)
    client.post(reverse("accounts:second_factor_remove"), {"code": _wrong(enrolled)})
    assert TOTPDevice.objects.exists()
    client.post(reverse("accounts:second_factor_remove"), {"code": _code(enrolled, offset=1)})
    assert not TOTPDevice.objects.exists()


def second_factor_session(client, device):
    """Mark the test client's session as having passed the code step (as django_otp.login does)."""
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()


def test_an_administrator_resets_another_users_device(client, enrolled, operator_persona, capsys):
    TOTPDevice.objects.create(user=operator_persona, name="Authenticator app", confirmed=True)
    client.force_login(operator_persona)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=operator_persona).persistent_id
    session.save()
    assert client.post(reverse("accounts:second_factor_reset"), {"username": "alice"}).status_code == 403
    call_command("second_factor_reset", username="olga")  # the local administrator, on the server
    assert "olga: second factor reset" in capsys.readouterr().out
    assert not TOTPDevice.objects.filter(user=operator_persona).exists()
    assert TOTPDevice.objects.filter(user=enrolled.user).exists()
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("second_factor_reset", username="nobody")


def test_break_glass_the_local_administrator_signs_in_while_every_tenant_is_unreachable(client, enrolled):
    """Nothing in the login reaches a tenant or Graph: a tenant whose authority answers nothing changes nothing."""
    tenant_create(name="Locked out", directory_id="locked.example", cloud=Tenant.Cloud.CUSTOM,
                  authority_url="https://127.0.0.1:9", graph_url="https://127.0.0.1:9",
                  client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))
    Tenant.objects.update(check_status=Tenant.CheckStatus.FAILED)
    _password(client)
    _code_step(client, _code(enrolled))
    assert _logged_in(client) and client.get(reverse("dashboard")).status_code == 200


# -- password rules --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("weak, rule", [
    ("Sh0rt-pass", "at least 12 characters"),
    ("123456789012345", "entirely numeric"),
    ("password1234", "too common"),
    ("wonderland-2026", "too similar to the email address"),
])
def test_a_password_change_refuses_weak_passwords(client, admin_persona, weak, rule):
    admin_persona.email = "alice@wonderland.example"
    admin_persona.save()
    client.force_login(admin_persona)
    page = client.post(reverse("accounts:password_change"), {"old_password": ADMIN_PASSWORD, "new_password1": weak,
                                                             "new_password2": weak})
    assert page.status_code == 200 and rule in page.content.decode()
    admin_persona.refresh_from_db()
    assert admin_persona.check_password(ADMIN_PASSWORD)


def test_a_strong_password_is_accepted(client, admin_persona):
    client.force_login(admin_persona)
    strong = "violet-anchor-quarry-91"
    response = client.post(reverse("accounts:password_change"), {"old_password": ADMIN_PASSWORD,
                                                                 "new_password1": strong, "new_password2": strong})
    assert response["Location"] == reverse("accounts:password_change_done")
    admin_persona.refresh_from_db()
    assert admin_persona.check_password(strong)


def test_operator_creation_refuses_a_weak_password(tmp_path):
    weak = tmp_path / "password"
    weak.write_text("password1234\n")
    with pytest.raises(CommandError, match="The password is refused: This password is too common"):
        call_command("operator_add", username="olivia", role="viewer", password_file=str(weak))
    weak.write_text("olivia-stone-7-harbour\n")
    call_command("operator_add", username="olivia", role="viewer", password_file=str(weak))
