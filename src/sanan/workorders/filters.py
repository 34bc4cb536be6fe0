"""Filters of the order lists, shared by the API and the web pages (pass ``request``)."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.core import clock
from sanan.places.selectors import place_get_for
from sanan.workorders.models import Category, Channel, WorkOrder
from sanan.workorders.selectors import BUCKETS, bucket_q, overdue_q
from sanan.workorders.state import State

_REFERENCE = re.compile(r"^\s*(?:\d{8}-)?0*(\d{1,12})\s*$")


class WorkOrderFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices, label=_("state"))
    category = django_filters.NumberFilter(
        method="filter_category", label=_("category id (with its subcategories)")
    )
    place = django_filters.NumberFilter(
        method="filter_place", label=_("place id (with everything inside it)")
    )
    courtyard = django_filters.NumberFilter(field_name="courtyard_id", label=_("courtyard id"))
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, label=_("channel"))
    lead_organisation = django_filters.NumberFilter(
        field_name="lead_organisation_id", label=_("lead organisation id")
    )
    emergency = django_filters.BooleanFilter(field_name="emergency", label=_("emergency"))
    discovery = django_filters.BooleanFilter(
        field_name="is_discovery", label=_("found on patrol (not a complaint)")
    )
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("overdue"))
    bucket = django_filters.ChoiceFilter(
        choices=[(code, label) for code, (label, _fn) in BUCKETS.items()],
        method="filter_bucket",
        label=_("board or queue list"),
    )
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("reported by me"))
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_q", label=_("number or words"))
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "created_at"), ("due_at", "due_at"), ("id", "id"))
    )

    class Meta:
        model = WorkOrder
        fields: list[str] = []

    @property
    def _user(self) -> Any:
        return getattr(self.request, "user", None)

    def filter_category(self, queryset: QuerySet[WorkOrder], name: str, value: int) -> Any:
        category = Category.objects.filter(pk=int(value)).first()
        if category is None:
            return queryset.none()
        return queryset.filter(category__path__startswith=category.path)

    def filter_place(self, queryset: QuerySet[WorkOrder], name: str, value: int) -> Any:
        place = place_get_for(user=self._user, pk=int(value))
        return queryset.filter(place__path__startswith=place.path)

    def filter_overdue(self, queryset: QuerySet[WorkOrder], name: str, value: bool) -> Any:
        cond = overdue_q(clock.now())
        return queryset.filter(cond) if value else queryset.exclude(cond)

    def filter_bucket(self, queryset: QuerySet[WorkOrder], name: str, value: str) -> Any:
        return queryset.filter(bucket_q(value, user=self._user))

    def filter_mine(self, queryset: QuerySet[WorkOrder], name: str, value: bool) -> Any:
        user_id = getattr(self._user, "pk", None)
        cond = Q(reporter_id=user_id)
        return queryset.filter(cond) if value else queryset.exclude(cond)

    def filter_q(self, queryset: QuerySet[WorkOrder], name: str, value: str) -> Any:
        value = value.strip()
        if not value:
            return queryset
        match = _REFERENCE.match(value)
        if match:
            return queryset.filter(pk=int(match.group(1)))
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
