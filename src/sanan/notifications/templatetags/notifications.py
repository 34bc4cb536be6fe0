"""``{% inbox_badge %}``: the inbox link with the unread count, for the top bar."""

from __future__ import annotations

from typing import Any

from django import template

from sanan.notifications.selectors import inbox_unread_count

register = template.Library()


@register.inclusion_tag("notifications/_badge.html", takes_context=True)
def inbox_badge(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"unread": inbox_unread_count(user=user) if user is not None else 0}
