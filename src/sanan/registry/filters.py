"""Filter definitions shared by the registry's pages and its API lists.

Build them with the request (``ResidentFilter(data, queryset=resident_list(user=...),
request=request)``): the place filter only accepts places the user can see, and the tag choices
are the tags of the user's scope.

ID numbers and phone numbers are personal: never put them in a URL. ``ResidentFilter.PII``
names the filters that take them; pages submit those with POST (``hx-post``), the API with
``POST /api/v1/registry/residents/search/``. ``carries_pii(data)`` tells whether a query does.
Invalid ID or phone numbers raise ``DomainError`` (e.g. ``resident.id_number_checksum``), which
the API renders as a 400 and pages show next to the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from sanan.core.validators import normalise_plate
from sanan.places.models import Place
from sanan.places.selectors import place_get_for
from sanan.registry import selectors
from sanan.registry.models import (
    Household,
    HouseUse,
    Rental,
    RentalState,
    ResidenceType,
    Resident,
    ResidentStatus,
    Vehicle,
    VehicleKind,
)

ANY = "any"


class _PlaceScoped(django_filters.FilterSet):
    """``place``: a place id; keeps the records of that place's subtree."""

    place = django_filters.NumberFilter(method="filter_place", label=_("place"))
    place_field = "place"

    def _place(self, value: Any) -> Place:
        return place_get_for(user=self.request.user if self.request else None, pk=int(value))

    def filter_place(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value in (None, ""):
            return queryset
        return selectors.filter_by_place(queryset, self._place(value), self.place_field)


class ResidentFilter(_PlaceScoped):
    PII = ("id_number", "phone")

    q = django_filters.CharFilter(method="filter_q", label=_("name, ID number, phone or plate"))
    name = django_filters.CharFilter(method="filter_name", label=_("name"))
    id_number = django_filters.CharFilter(method="filter_id_number", label=_("ID number"))
    phone = django_filters.CharFilter(method="filter_phone", label=_("phone"))
    plate = django_filters.CharFilter(method="filter_plate", label=_("plate"))
    residence_type = django_filters.ChoiceFilter(
        choices=ResidenceType.choices, label=_("residence type")
    )
    tag = django_filters.MultipleChoiceFilter(
        method="filter_tags", label=_("care tags"), choices=[]
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        choices=[*ResidentStatus.choices, (ANY, _("Any"))],
        empty_label=None,
        label=_("status"),
    )
    household = django_filters.NumberFilter(field_name="household_id", label=_("household"))

    class Meta:
        model = Resident
        fields = [
            "q",
            "name",
            "id_number",
            "phone",
            "plate",
            "place",
            "residence_type",
            "tag",
            "status",
            "household",
        ]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and not data.get("status"):
            data = data.copy() if hasattr(data, "copy") else dict(data)
            data["status"] = ResidentStatus.ACTIVE  # people who live here, unless asked
        super().__init__(data, *args, **kwargs)
        user = self.request.user if self.request else None
        tag = self.filters["tag"]
        tag.extra["choices"] = [
            (t.code, t.display_label) for t in selectors.care_tag_list(user=user)
        ]
        tag.__dict__.pop("_field", None)  # a field cached before (API schema) keeps no choices

    @classmethod
    def carries_pii(cls, data: Mapping[str, Any]) -> bool:
        return any(data.get(name) for name in cls.PII) or selectors.looks_personal(
            str(data.get("q") or "")
        )

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return selectors.filter_by_text(queryset, value)

    def filter_name(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return selectors.filter_by_name(queryset, value)

    def filter_id_number(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return selectors.filter_by_id_number(queryset, value)

    def filter_phone(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return selectors.filter_by_phone(queryset, value)

    def filter_plate(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return selectors.filter_by_plate(queryset, value)

    def filter_tags(self, queryset: QuerySet[Any], name: str, value: list[str]) -> QuerySet[Any]:
        return selectors.filter_by_tags(queryset, value)

    def filter_status(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset if value == ANY else queryset.filter(status=value)


class HouseholdFilter(_PlaceScoped):
    code = django_filters.CharFilter(lookup_expr="icontains", label=_("household code"))

    class Meta:
        model = Household
        fields = ["place", "code"]


class HouseFilter(_PlaceScoped):
    """Over house places (``Place`` rows of kind house) and their profile."""

    place_field = ""
    q = django_filters.CharFilter(method="filter_q", label=_("house number or name"))
    use = django_filters.ChoiceFilter(
        field_name="house_profile__use", choices=HouseUse.choices, label=_("use")
    )
    self_built = django_filters.BooleanFilter(
        field_name="house_profile__self_built", label=_("self-built")
    )
    has_profile = django_filters.BooleanFilter(
        field_name="house_profile", lookup_expr="isnull", exclude=True, label=_("has details")
    )

    class Meta:
        model = Place
        fields = ["place", "q", "use", "self_built", "has_profile"]

    def filter_place(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value in (None, ""):
            return queryset
        return queryset.filter(path__startswith=self._place(value).path)

    def filter_q(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(house_profile__house_number__icontains=value)
        )


class RentalFilter(_PlaceScoped):
    registration_state = django_filters.ChoiceFilter(
        choices=RentalState.choices, label=_("registration")
    )
    not_inspected_since = django_filters.DateFilter(
        method="filter_not_inspected_since", label=_("not inspected since")
    )
    landlord = django_filters.NumberFilter(field_name="landlord_id", label=_("landlord"))
    tenant = django_filters.NumberFilter(field_name="tenants", label=_("tenant"))

    class Meta:
        model = Rental
        fields = ["place", "registration_state", "not_inspected_since", "landlord", "tenant"]

    def filter_not_inspected_since(
        self, queryset: QuerySet[Any], name: str, value: Any
    ) -> QuerySet[Any]:
        return queryset.filter(Q(last_inspected_on__isnull=True) | Q(last_inspected_on__lt=value))


class VehicleFilter(_PlaceScoped):
    plate = django_filters.CharFilter(method="filter_plate", label=_("plate"))
    kind = django_filters.ChoiceFilter(choices=VehicleKind.choices, label=_("kind"))
    new_energy = django_filters.BooleanFilter(label=_("new energy"))
    owner = django_filters.NumberFilter(field_name="owner_id", label=_("owner"))

    class Meta:
        model = Vehicle
        fields = ["place", "plate", "kind", "new_energy", "owner"]

    def filter_plate(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        plate = normalise_plate(value)
        return queryset.filter(plate__contains=plate) if plate else queryset
