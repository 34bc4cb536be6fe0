"""Reads for the grid, always on behalf of a user."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Length, Substr

from sanan.accounts.permissions import get_visible_or_404
from sanan.places.models import Place, PlaceKind, PlaceQuerySet


def place_list(*, user: Any, kind: str | None = None, within: Place | None = None) -> PlaceQuerySet:
    qs = Place.objects.visible_to(user)
    if kind:
        qs = qs.filter(kind=kind)
    if within is not None:
        qs = qs.filter(path__startswith=within.path, depth__gt=within.depth)
    return qs


def place_get_for(*, user: Any, pk: int) -> Place:
    return get_visible_or_404(Place.objects.all(), user, pk=pk)


def place_children(*, user: Any, place: Place) -> PlaceQuerySet:
    return Place.objects.visible_to(user).filter(path__startswith=place.path, depth=place.depth + 1)


def place_ancestors(place: Place) -> list[Place]:
    return list(Place.objects.filter(path__in=place.ancestor_paths()).order_by("depth"))


def courtyards_of(*, user: Any, area: Place) -> PlaceQuerySet:
    return place_list(user=user, kind=PlaceKind.COURTYARD, within=area)


def with_parent_id(qs: PlaceQuerySet) -> PlaceQuerySet:
    """Annotate ``parent_id`` in the same query (the parent's path is the path minus a step)."""
    parent = Place.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Place.steplen)
    ).values("id")[:1]
    return qs.annotate(parent_id=Subquery(parent))
