"""The dashboard's drill-down: the order lists behind its numbers. The work-order list filters
(``workorders.filters.WorkOrderFilter``) and the few conditions the dashboard counts with that
the order lists do not have (finished in a period, solved, open, escalated since a moment)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.dashboard.selectors import ESCALATIONS, OPEN, escalated_q
from sanan.insights.selectors import counting_q
from sanan.workorders.filters import WorkOrderFilter
from sanan.workorders.models import WorkOrder


class DashboardOrderFilter(WorkOrderFilter):
    finished_after = django_filters.IsoDateTimeFilter(field_name="finished_at", lookup_expr="gte")
    finished_before = django_filters.IsoDateTimeFilter(field_name="finished_at", lookup_expr="lt")
    solved = django_filters.BooleanFilter(method="filter_solved", label=_("problem solved"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("open"))
    supervised = django_filters.BooleanFilter(
        method="filter_supervised", label=_("under supervision")
    )
    escalated = django_filters.ChoiceFilter(
        choices=[(a.value, a.label) for a in ESCALATIONS],
        method="filter_escalated",
        label=_("escalated"),
    )
    since = django_filters.IsoDateTimeFilter(method="filter_since", label=_("escalated since"))
    no_courtyard = django_filters.BooleanFilter(
        field_name="courtyard", lookup_expr="isnull", label=_("Outside the courtyards")
    )

    class Meta:
        model = WorkOrder
        fields: list[str] = []

    def filter_solved(self, queryset: QuerySet[WorkOrder], name: str, value: bool) -> Any:
        solved = counting_q("solved")
        return queryset.filter(solved) if value else queryset.exclude(solved)

    def filter_open(self, queryset: QuerySet[WorkOrder], name: str, value: bool) -> Any:
        cond = Q(state__in=OPEN)
        return queryset.filter(cond) if value else queryset.exclude(cond)

    def filter_supervised(self, queryset: QuerySet[WorkOrder], name: str, value: bool) -> Any:
        cond = Q(supervision_level__gt=0)
        return queryset.filter(cond) if value else queryset.exclude(cond)

    def filter_escalated(self, queryset: QuerySet[WorkOrder], name: str, value: str) -> Any:
        since = self.form.cleaned_data.get("since")
        if since is None:
            from sanan.dashboard.selectors import week_start

            since = week_start()
        return queryset.filter(escalated_q(value, since))

    def filter_since(self, queryset: QuerySet[WorkOrder], name: str, value: Any) -> Any:
        return queryset  # read by ``filter_escalated``
