from __future__ import annotations

from typing import Any

import django_filters
from django.http import Http404
from rest_framework import serializers, viewsets

from sanan.accounts.permissions import permissions_for
from sanan.audit.models import AuditEvent
from sanan.audit.selectors import audit_event_list


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_label",
            "reason",
            "data",
            "ip",
            "request_id",
            "hash",
        ]


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "since", "until"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log (leaders and administrators, within their scope)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, no user
            return AuditEvent.objects.none()
        if not permissions_for(self.request.user).has("audit.view"):
            raise Http404  # the log does not exist for roles that may not read it
        return audit_event_list(user=self.request.user)
