"""Coordinate systems used in China and exact conversions between them.

GPS gives WGS-84; AMap, Tencent and WeChat give GCJ-02; Baidu gives BD-09. At Leshan GCJ-02 is
several hundred metres off WGS-84, so every coordinate entering Sanan names its system and is
stored in WGS-84. The forward transforms are the published ones; the inverse ones are iterative
(prcoords' "bored" variants), with a round-trip error far below one metre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import prcoords
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"

    @property
    def label(self) -> str:
        return {
            "wgs84": "WGS-84 (GPS)",
            "gcj02": "GCJ-02 (AMap/Tencent/WeChat)",
            "bd09": "BD-09 (Baidu)",
        }[self.value]


@dataclass(frozen=True, slots=True)
class LatLng:
    """A point given as latitude then longitude, in degrees."""

    lat: float
    lng: float


def parse_system(value: str | CoordSystem) -> CoordSystem:
    normalised = str(value).strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84",
        "gps": "wgs84",
        "gcj02": "gcj02",
        "amap": "gcj02",
        "bd09": "bd09",
        "bd09ll": "bd09",
        "baidu": "bd09",
    }
    if normalised not in aliases:
        raise DomainError(
            "coordinates.unknown_system",
            _("Unknown coordinate system. Use wgs84, gcj02 or bd09."),
            fields={"system": [_("Use wgs84, gcj02 or bd09.")]},
        )
    return CoordSystem(aliases[normalised])


def validate(point: LatLng) -> LatLng:
    """Refuse NaN, infinities and out-of-range values with a message a person understands."""
    errors: dict[str, list[str]] = {}
    try:
        lat, lng = float(point.lat), float(point.lng)
    except (TypeError, ValueError):
        raise DomainError(
            "coordinates.not_a_number", _("Latitude and longitude must be numbers.")
        ) from None
    if not math.isfinite(lat) or not -90 <= lat <= 90:
        errors["lat"] = [str(_("Latitude must be between -90 and 90."))]
    if not math.isfinite(lng) or not -180 <= lng <= 180:
        errors["lng"] = [str(_("Longitude must be between -180 and 180."))]
    if errors:
        raise DomainError(
            "coordinates.out_of_range", _("The coordinates are out of range."), fields=errors
        )
    return LatLng(lat, lng)


def to_wgs84(point: LatLng, system: CoordSystem | str) -> LatLng:
    point = validate(point)
    system = parse_system(system)
    coords = prcoords.Coords(point.lat, point.lng)
    if system is CoordSystem.GCJ02:
        coords = prcoords.gcj_wgs_bored(coords)
    elif system is CoordSystem.BD09:
        coords = prcoords.bd_wgs_bored(coords)
    return LatLng(coords.lat, coords.lon)


def from_wgs84(point: LatLng, system: CoordSystem | str) -> LatLng:
    point = validate(point)
    system = parse_system(system)
    coords = prcoords.Coords(point.lat, point.lng)
    if system is CoordSystem.GCJ02:
        coords = prcoords.wgs_gcj(coords)
    elif system is CoordSystem.BD09:
        coords = prcoords.wgs_bd(coords)
    return LatLng(coords.lat, coords.lon)


def distance_m(a: LatLng, b: LatLng) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_008.8
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lng - a.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))
