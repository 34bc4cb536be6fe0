"""The grid: one tree of places from the city down to a dwelling unit."""

from __future__ import annotations

from typing import Any, cast

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet


class PlaceKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    SUBDISTRICT = "subdistrict", _("Sub-district")
    COMMUNITY = "community", _("Community")
    AREA = "area", _("Residential area")
    COURTYARD = "courtyard", _("Courtyard")
    HOUSE = "house", _("House")
    UNIT = "unit", _("Unit")


KIND_ORDER: list[str] = [k.value for k in PlaceKind]

# The kind a child of each kind may have. Levels are not skipped: a house always sits in a
# courtyard, so every house has someone in charge of it.
CHILD_KIND: dict[str, str | None] = {
    kind: (KIND_ORDER[i + 1] if i + 1 < len(KIND_ORDER) else None)
    for i, kind in enumerate(KIND_ORDER)
}


def count_label(kind: str, n: int) -> str:
    """ "55 courtyards" / "55 个院落": a count of places of one kind, in the user's language."""
    forms = {
        PlaceKind.CITY: ngettext("%(n)d city", "%(n)d cities", n),
        PlaceKind.DISTRICT: ngettext("%(n)d district", "%(n)d districts", n),
        PlaceKind.SUBDISTRICT: ngettext("%(n)d sub-district", "%(n)d sub-districts", n),
        PlaceKind.COMMUNITY: ngettext("%(n)d community", "%(n)d communities", n),
        PlaceKind.AREA: ngettext("%(n)d residential area", "%(n)d residential areas", n),
        PlaceKind.COURTYARD: ngettext("%(n)d courtyard", "%(n)d courtyards", n),
        PlaceKind.HOUSE: ngettext("%(n)d house", "%(n)d houses", n),
        PlaceKind.UNIT: ngettext("%(n)d unit", "%(n)d units", n),
    }
    return forms[PlaceKind(kind)] % {"n": n}


class PlaceQuerySet(MP_NodeQuerySet):
    def visible_to(self, user: Any, action: str = "place.view") -> PlaceQuerySet:
        """Places in the user's scope for ``action``, plus the ancestors leading to it."""
        from sanan.accounts.permissions import permissions_for

        return cast(PlaceQuerySet, permissions_for(user).filter_places(self, action))

    def subtree(self, place: Place) -> PlaceQuerySet:
        return self.filter(path__startswith=place.path)

    def of_kind(self, kind: str) -> PlaceQuerySet:
        return self.filter(kind=kind)


class PlaceManager(MP_NodeManager):
    def get_queryset(self) -> PlaceQuerySet:
        return PlaceQuerySet(self.model, using=self._db).order_by("path")

    def visible_to(self, user: Any, action: str = "place.view") -> PlaceQuerySet:
        return self.get_queryset().visible_to(user, action)


class Place(MP_Node):
    """A node of the region tree. ``path`` is a materialised path: a subtree is a prefix."""

    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices, db_index=True)
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # Courtyards (and areas) carry a GeoJSON Polygon or MultiPolygon geometry in WGS-84.
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    # A representative point in WGS-84 (house door, courtyard centre), degrees.
    latitude = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    longitude = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    steplen = 4
    objects = PlaceManager()

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        indexes = [models.Index(fields=["kind", "path"], name="place_kind_path")]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return str(PlaceKind(self.kind).label)

    @property
    def child_kind(self) -> str | None:
        return CHILD_KIND[self.kind]

    def ancestor_paths(self) -> list[str]:
        return [self.path[: i * self.steplen] for i in range(1, self.depth)]
