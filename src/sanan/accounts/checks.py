"""Start-up checks of the accounts settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from sanan.accounts.roles import Role


@register()
def totp_required_roles(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    unknown = sorted(set(settings.TOTP_REQUIRED_ROLES) - {role.value for role in Role})
    if not unknown:
        return []
    return [
        Error(
            f"SANAN_TOTP_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}",
            hint="Use role codes: " + ", ".join(role.value for role in Role),
            id="sanan.accounts.E001",
        )
    ]
