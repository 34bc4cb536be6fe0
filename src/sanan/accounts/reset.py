"""Password reset: a one-time link issued by an administrator (audited), and self-service by
email when email is configured. A link is signed with the account's current password hash and
last sign-in, so it works once and stops working when the password changes; it expires after
``SANAN_PASSWORD_RESET_HOURS``.

Self-service requests are limited per client address, per email address and per account
(``SANAN_RATE_PASSWORD_RESET_PER_HOUR`` each); whatever happens, the person is told the same
thing, so the page never says whether an account uses an address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from sanan.accounts.models import User
from sanan.accounts.selectors import user_get_for, user_list
from sanan.accounts.signals import audit_auth_event
from sanan.core import crypto
from sanan.core.errors import PermissionDenied
from sanan.core.ratelimit import window_count

WINDOW_SECONDS = 3600


def email_configured() -> bool:
    return bool(settings.EMAIL_HOST)


def reset_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:reset_confirm", kwargs={"uidb64": uid, "token": token})


def password_reset_link_issue(*, actor: Any, pk: int) -> str:
    """A one-time link to set a new password for the account ``pk``, for an administrator
    (``user.manage`` over a place where the account holds a role); audited."""
    target = user_get_for(user=actor, pk=pk)  # out of sight: 404
    if not user_list(user=actor, action="user.manage").filter(pk=pk).exists():
        raise PermissionDenied(
            "user.reset_forbidden", _("Your role may not reset other people's passwords.")
        )
    with transaction.atomic():
        audit_auth_event(action="auth.password_reset_link_issued", account=target, actor=actor)
    return settings.PUBLIC_URL.rstrip("/") + reset_path(target)


def _over(bucket: str, key: str) -> bool:
    """Count one request of ``key``; True when past the hourly limit."""
    key = crypto.blind_index(key, purpose="reset")[:32]  # an address or account, never stored
    count = window_count(f"reset:{bucket}", key, window_seconds=WINDOW_SECONDS)
    return count > settings.RATE_PASSWORD_RESET_PER_HOUR


def address_over_limit(ip: str) -> bool:
    return _over("ip", ip or "unknown")


def password_reset_request(*, email: str) -> None:
    """Send a reset link to every active account using ``email`` (case-insensitive), within
    the limits per address and per account. Says nothing about what was found."""
    email = email.strip()
    if not email or _over("email", email.lower()):
        return
    for user in User.objects.filter(email__iexact=email, is_active=True):
        if not user.has_usable_password() or _over("account", str(user.pk)):
            continue
        with transaction.atomic():
            audit_auth_event(action="auth.password_reset_requested", account=user)
        link = settings.PUBLIC_URL.rstrip("/") + reset_path(user)
        language = user.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {"user": user, "link": link, "hours": settings.PASSWORD_RESET_TIMEOUT // 3600}
            subject = render_to_string("accounts/reset_email_subject.txt", context).strip()
            body = render_to_string("accounts/reset_email.txt", context)
        send_mail(subject, body, None, [user.email], fail_silently=True)


def password_reset_done(*, user: User) -> None:
    with transaction.atomic():
        audit_auth_event(action="auth.password_reset_done", account=user)
