"""GeoJSON boundaries: validation and conversion to shapely geometries."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

from sanan.core.errors import DomainError


def boundary_error(message: Any) -> DomainError:
    return DomainError("place.invalid_boundary", message, fields={"boundary": [message]})


def parse_boundary(geojson: Any) -> Polygon | MultiPolygon:
    """A valid WGS-84 Polygon/MultiPolygon from a GeoJSON geometry (or Feature), or an error."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise boundary_error(_("The boundary must be a GeoJSON Polygon or MultiPolygon."))
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise boundary_error(_("The boundary is not well-formed GeoJSON.")) from None
    if geom.is_empty:
        raise boundary_error(_("The boundary is empty."))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise boundary_error(
            _("Boundary coordinates must be longitude, latitude in WGS-84 degrees.")
        )
    if not geom.is_valid:
        raise boundary_error(_("The boundary crosses itself or is otherwise not a valid polygon."))
    return geom


def to_geojson(geom: Polygon | MultiPolygon) -> dict[str, Any]:
    return dict(mapping(geom))


def normalise_boundary(geojson: Any) -> dict[str, Any]:
    """Validate and return the plain GeoJSON geometry (a Feature is unwrapped)."""
    geom = parse_boundary(geojson)
    return {"type": geom.geom_type, "coordinates": to_geojson(geom)["coordinates"]}
