from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sanan.audit.models import AuditEvent


def audit_event_list(*, user: Any) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.visible_to(user)
