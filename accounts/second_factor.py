"""The optional second factor of local accounts: a TOTP authenticator app, through django-otp.

A user enrols one device (a QR code and its secret on the second-factor page), confirms it with a code, and
from then on signs in in two steps: password, then code. Failed codes count as failed logins for the login
throttle (django-axes), exactly like wrong passwords. Nothing here reaches a tenant or Microsoft Graph: the
local administrator can always sign in (docs/approvals.md, "Second factor" and "Break-glass administrator").
"""

import time
from base64 import b32encode

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import AccountError
from audittrail.trail import record

DEVICE_NAME = "Authenticator app"
PENDING_KEY = "second_factor_pending"
PENDING_SECONDS = 300  # the code step must follow the password within 5 minutes
ISSUER = "entrabackup"


def device_confirmed(user) -> TOTPDevice | None:
    """The user's confirmed authenticator, or None when the second factor is off for them."""
    if user is None or user.pk is None:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def device_for_enrolment(user) -> TOTPDevice:
    """The user's device waiting for its first code (created once; its secret stays until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def device_secret(device: TOTPDevice) -> str:
    """The secret in base32, as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode().rstrip("=")


def device_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address of the device as an inline SVG QR code (rendered here; nothing is fetched)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@transaction.atomic
def enrolment_confirm(*, user, code: str) -> TOTPDevice:
    """Confirm the device being enrolled with a code from the app; AccountError when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise AccountError("No authenticator is being set up: open the second-factor page again.")
    if not _verify(device, code):
        raise AccountError("That code is not right: check the time on the phone and type the current code.")
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record("account.second_factor.enrol", target=f"user:{user.get_username()}", user=user)
    return device


def second_factor_remove(*, user, code: str) -> None:
    """The user turns their second factor off, proving it with a current code."""
    device = device_confirmed(user)
    if device is None:
        raise AccountError("You have no second factor to remove.")
    if not _verify(device, code):
        raise AccountError("That code is not right; the second factor stays on.")
    TOTPDevice.objects.filter(user=user).delete()
    record("account.second_factor.remove", target=f"user:{user.get_username()}", user=user)


def second_factor_reset(*, username: str, by) -> int:
    """An administrator removes another user's authenticator (lost phone); returns how many devices went."""
    if by is None or not by.has_perm("accounts.change_user"):
        raise AccountError("Only an administrator (who may change users) can reset a second factor.")
    target = get_user_model().objects.filter(username=username).first()
    if target is None:
        raise AccountError(f"No user named {username[:150]!r}.")
    removed, _ = TOTPDevice.objects.filter(user=target).delete()
    record("account.second_factor.reset", target=f"user:{target.get_username()}", user=by,
           detail={"devices_removed": removed})
    return removed


def _verify(device: TOTPDevice, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != device.digits:
        return False
    return device.verify_token(code)


# -- the two-step login ----------------------------------------------------------------------------------------

def login_pending_start(request: HttpRequest, user, *, next_url: str, backend: str | None = None) -> None:
    """Password accepted, code still due: remember who (not logged in yet) for PENDING_SECONDS."""
    request.session[PENDING_KEY] = {"user": user.pk, "backend": backend or user.backend, "next": next_url,
                                    "at": time.time()}


def login_pending(request: HttpRequest):
    """The user whose code is due, with their backend and next address, or None when nobody is (or too late)."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None:
        return None
    user.backend = pending["backend"]
    return user, pending.get("next") or ""


def login_code_check(request: HttpRequest, user, code: str) -> TOTPDevice | None:
    """The device when `code` is right; else None, and the failure counts for the login throttle."""
    device = device_confirmed(user)
    if device is not None and _verify(device, code):
        request.session.pop(PENDING_KEY, None)
        return device
    # django-axes counts this like a wrong password, for the same user name and address.
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return None


def login_locked_out(request: HttpRequest, user) -> bool:
    """Whether the login throttle refuses this user from this address now."""
    return AxesProxyHandler.is_locked(request, credentials={"username": user.get_username()})
