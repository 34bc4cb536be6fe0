"""Two-step sign-in: a time-based code (TOTP, RFC 6238) from an authenticator app after the
password, or one of ten single-use recovery codes. Built on django-otp's devices; every
enrolment, removal, wrong code and recovery code used is in the audit log.

Who must use it: holders of the roles in ``SANAN_TOTP_REQUIRED_ROLES``; anyone else may turn
it on from their account page. Wrong codes are limited per account
(``SANAN_TOTP_MAX_TRIES`` within the sign-in cool-off), on top of django-otp's growing delay
after each wrong code."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanan.accounts.models import User
from sanan.accounts.signals import audit_auth_event
from sanan.core.errors import DomainError

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def totp_required(user: User) -> bool:
    """Whether one of the user's roles requires two-step sign-in."""
    required = set(settings.TOTP_REQUIRED_ROLES)
    if not required:
        return False
    return user.role_assignments.filter(role__in=required).exists()


def totp_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_enrol_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator (the secret shown as a QR code); an earlier unconfirmed
    one is replaced, a confirmed one stays until the new one is confirmed."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_pending_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def qr_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` address of the device as an inline SVG QR code (no script, no image
    request: allowed by the page's Content-Security-Policy)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2))


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _wrong_code() -> DomainError:
    return DomainError(
        "two_step.wrong_code",
        _("That code is not right. Check the time on your phone and try the newest code."),
        fields={"code": [_("Not right.")]},
    )


def _clean_code(code: str) -> str:
    return "".join(str(code or "").split())[:16]


def totp_enrol_confirm(*, actor: Any, user: User, code: str) -> list[str]:
    """Confirm the new authenticator with a code from it; returns the ten recovery codes, shown
    once. An earlier authenticator is replaced."""
    device = totp_pending_device(user)
    if device is None:
        raise DomainError("two_step.not_started", _("Start again: open the set-up page."))
    if not device.verify_token(_clean_code(code)):
        raise _wrong_code()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        audit_auth_event(action="auth.totp_enrolled", account=user, actor=actor)
    return codes


def recovery_codes_renew(*, actor: Any, user: User, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), for a current code."""
    if verify_code(user=user, code=code, audit=False) is None:
        raise _wrong_code()
    with transaction.atomic():
        return _new_recovery_codes(user)


def totp_disable(*, actor: Any, user: User, code: str) -> None:
    """Turn two-step sign-in off, for a current code or a recovery code; refused when a role
    of the user requires it."""
    if totp_required(user):
        raise DomainError(
            "two_step.required",
            _("Your role requires two-step sign-in; it cannot be turned off."),
        )
    if verify_code(user=user, code=code, audit=False) is None:
        raise _wrong_code()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_auth_event(action="auth.totp_disabled", account=user, actor=actor)


def _tries_key(user: User) -> str:
    return f"sanan:two-step-fail:{user.pk}"


def tries_exhausted(user: User) -> bool:
    return int(cache.get(_tries_key(user), 0)) >= settings.TOTP_MAX_TRIES


def _count_failure(user: User) -> None:
    key = _tries_key(user)
    if not cache.add(key, 1, timeout=settings.LOGIN_COOLOFF_MINUTES * 60):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=settings.LOGIN_COOLOFF_MINUTES * 60)


def verify_code(*, user: User, code: str, audit: bool = True) -> Any:
    """The device that accepts ``code`` (the authenticator, or the recovery codes: a recovery
    code works once), or None. Wrong codes count towards the per-account limit."""
    if tries_exhausted(user):
        return None
    code = _clean_code(code)
    found: Any = None
    if code.isdigit():
        found = next((d for d in TOTPDevice.objects.filter(user=user, confirmed=True)
                      if d.verify_token(code)), None)  # fmt: skip
    else:
        found = next((d for d in StaticDevice.objects.filter(user=user, confirmed=True)
                      if d.verify_token(code)), None)  # fmt: skip
        if found is not None and audit:
            audit_auth_event(
                action="auth.recovery_code_used",
                account=user,
                data={"left": recovery_codes_left(user)},
            )
    if found is None:
        _count_failure(user)
        if audit:
            audit_auth_event(action="auth.totp_failed", account=user, actor="unknown")
    return found


def method_of(device: Any) -> str:
    return "recovery_code" if isinstance(device, StaticDevice) else "totp"
