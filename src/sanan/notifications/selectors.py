"""Reads of notifications, always for the acting user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sanan.notifications.models import InboxItem


def inbox_list(*, user: Any, unread_only: bool = False) -> QuerySet[InboxItem]:
    """The user's own inbox, newest first (nobody sees another person's inbox)."""
    if not getattr(user, "is_authenticated", False):
        return InboxItem.objects.none()
    qs = InboxItem.objects.filter(user_id=user.pk)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-pk")


def inbox_unread_count(*, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return InboxItem.objects.filter(user_id=user.pk, read_at__isnull=True).count()
