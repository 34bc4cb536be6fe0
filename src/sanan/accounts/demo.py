"""Accounts for the demo community. Every demo account shares the demo password, which is
printed with the logins; it is hashed once per build (Argon2 is slow on purpose)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password

from sanan.accounts.models import User
from sanan.accounts.services import user_create


@functools.cache
def demo_password_hash() -> str:
    return make_password(settings.DEMO_PASSWORD)


def demo_user(
    *, actor: Any, username: str, display_name: str, phone: str, superuser: bool = False
) -> User:
    """The demo account ``username``, created with the shared password if it is missing."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            actor=actor,
            username=username,
            password_hash=demo_password_hash(),
            display_name=display_name,
            phone=phone,
            validate=False,
            superuser=superuser,
        )
    return user
