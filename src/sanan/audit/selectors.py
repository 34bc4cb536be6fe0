from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from sanan.accounts.permissions import permissions_for
from sanan.audit.models import AuditEvent


def audit_event_list(*, user: Any) -> QuerySet[AuditEvent]:
    """Events about places in the user's audit scope; events tied to no place (accounts,
    system jobs) only for those whose scope starts at the top of the tree."""
    roots = permissions_for(user).scope_paths("audit.view")
    if roots == [""]:
        return AuditEvent.objects.all()
    if not roots:
        return AuditEvent.objects.none()
    cond = Q()
    for root in roots:
        cond |= Q(place_path__startswith=root)
    if any(len(root) <= 4 for root in roots):
        cond |= Q(place_path="")
    return AuditEvent.objects.filter(cond)
