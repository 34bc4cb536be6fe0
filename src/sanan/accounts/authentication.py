"""API token authentication: DRF's, with the token's user read in one written-out statement
(it runs on every API request: ``core.hotpath``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from sanan.accounts.models import User
from sanan.core import hotpath


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``; the same answers as DRF's (401 with
    ``WWW-Authenticate: Token``), ``request.auth`` the token."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        users = hotpath.instances(
            User, "FROM {0} m JOIN {1} t ON t.user_id = m.id WHERE t.key = %s",
            [key], Token,
        )  # fmt: skip
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, Token(key=key, user=user))
