from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from sanan.accounts.models import PHONE_PURPOSE, User
from sanan.core import crypto
from sanan.core.phone import looks_like_mobile, normalise_mobile


def find_account(login: str) -> User | None:
    """The account a login names: a mobile number in any spelling, or a username in any case."""
    login = login.strip()
    if looks_like_mobile(login):
        index = crypto.blind_index(normalise_mobile(login), purpose=PHONE_PURPOSE)
        return User.objects.filter(phone_index=index).first()
    return User.objects.filter(username__iexact=login).first()


class PhoneOrUsernameBackend(ModelBackend):
    """Sign in with a mobile number (found through its blind index) or a username."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = find_account(username)
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Failures are counted per account, whichever way it was named (username in any case, mobile
    number in any spelling); a login naming no account is counted as typed, normalised. Stored
    keyed-hashed, so the lockout table never holds a phone number."""
    raw = str((credentials or {}).get("username") or request.POST.get("username", "")).strip()
    account = find_account(raw) if raw else None
    if account is not None:
        key = f"account:{account.pk}"
    else:
        key = normalise_mobile(raw) if looks_like_mobile(raw) else raw.lower()
    return crypto.blind_index(key, purpose="login")[:40]
