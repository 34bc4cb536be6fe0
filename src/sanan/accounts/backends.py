from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from sanan.accounts.models import PHONE_PURPOSE, User
from sanan.core import crypto
from sanan.core.phone import looks_like_mobile, normalise_mobile


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
        username = username.strip()
        user: User | None
        if looks_like_mobile(username):
            index = crypto.blind_index(normalise_mobile(username), purpose=PHONE_PURPOSE)
            user = User.objects.filter(phone_index=index).first()
        else:
            user = User.objects.filter(username__iexact=username).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The login as the backend understands it (a normalised mobile number, or the username in
    lower case), keyed-hashed: failures are counted per account whatever spelling was typed,
    and the lockout table never holds a phone number."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    raw = str(raw).strip()
    login = normalise_mobile(raw) if looks_like_mobile(raw) else raw.lower()
    return crypto.blind_index(login, purpose="login")[:40]
