"""Writes for the grid: creating places and setting courtyard boundaries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from sanan.audit.services import audit_record
from sanan.core.errors import DomainError
from sanan.places.coords import CoordSystem, LatLng, to_wgs84
from sanan.places.geometry import normalise_boundary
from sanan.places.models import CHILD_KIND, Place, PlaceKind


def _point_fields(point: LatLng | None, system: CoordSystem | str) -> dict[str, Decimal | None]:
    if point is None:
        return {"latitude": None, "longitude": None}
    wgs = to_wgs84(point, system)
    return {
        "latitude": Decimal(f"{wgs.lat:.7f}"),
        "longitude": Decimal(f"{wgs.lng:.7f}"),
    }


def place_create(
    *,
    actor: Any,
    parent: Place | None,
    kind: str,
    code: str,
    name: str,
    boundary: Any = None,
    point: LatLng | None = None,
    system: CoordSystem | str = CoordSystem.WGS84,
    address: str = "",
) -> Place:
    kind = PlaceKind(kind)
    expected = CHILD_KIND[parent.kind] if parent is not None else PlaceKind.CITY
    if kind != expected:
        raise DomainError(
            "place.wrong_level",
            _("A place of this kind cannot be created here."),
            fields={"kind": [_("Expected: %(kind)s") % {"kind": PlaceKind(expected).label}]}
            if expected
            else None,
        )
    if Place.objects.filter(code=code).exists():
        raise DomainError(
            "place.code_taken", _("This code is already used."), fields={"code": [_("Taken.")]}
        )
    fields: dict[str, Any] = {
        "kind": kind,
        "code": code,
        "name": name,
        "address": address,
        "boundary": normalise_boundary(boundary) if boundary is not None else None,
        **_point_fields(point, system),
    }
    with transaction.atomic():
        place = (
            Place.objects.add_root(create_kwargs=fields)
            if parent is None
            else Place.objects.add_child(parent, create_kwargs=fields)
        )
        audit_record(actor=actor, action="place.created", target=place)
    return place


def place_update(
    *,
    actor: Any,
    place: Place,
    name: str | None = None,
    address: str | None = None,
    boundary: Any = None,
    point: LatLng | None = None,
    system: CoordSystem | str = CoordSystem.WGS84,
    reason: str = "",
) -> Place:
    changed: dict[str, Any] = {}
    if name is not None and name != place.name:
        changed["name"] = name
    if address is not None and address != place.address:
        changed["address"] = address
    if boundary is not None:
        geometry = normalise_boundary(boundary)
        if geometry != place.boundary:
            changed["boundary"] = geometry
    if point is not None:
        changed.update(_point_fields(point, system))
    if not changed:
        return place
    with transaction.atomic():
        for field, value in changed.items():
            setattr(place, field, value)
        place.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="place.updated",
            target=place,
            reason=reason,
            data={"fields": sorted(changed)},
        )
    return place
