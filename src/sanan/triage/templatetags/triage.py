"""``{% if request.user|can_suggest %}``: whether the category suggestion is offered."""

from __future__ import annotations

from typing import Any

from django import template

from sanan.accounts.permissions import permissions_for

register = template.Library()


@register.filter
def can_suggest(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and permissions_for(user).has(
        "triage.suggest"
    )
