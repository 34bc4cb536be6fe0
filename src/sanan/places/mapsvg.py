"""Draw courtyard polygons as inline SVG: a map that needs no tile server and no script."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sanan.places.geometry import parse_boundary
from sanan.places.models import Place

WIDTH = 1000.0


@dataclass(frozen=True)
class MapShape:
    place: Place
    d: str  # SVG path data
    label_x: float
    label_y: float


@dataclass(frozen=True)
class SvgMap:
    width: float
    height: float
    shapes: list[MapShape]
    outline: str = ""  # the enclosing place's boundary, drawn behind the shapes


def _rings(geom) -> Iterable:  # type: ignore[no-untyped-def]
    polygons = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    for polygon in polygons:
        yield polygon.exterior
        yield from polygon.interiors


def draw(
    places: Iterable[Place], *, outline: Place | None = None, padding: float = 12.0
) -> SvgMap | None:
    """Project WGS-84 boundaries (equirectangular, scaled by cos(latitude)) into a viewBox.

    With ``outline``, the map spans that place's boundary and draws it behind the shapes, so a
    user who sees only some courtyards still sees where they lie in the area.
    """
    items = [(p, parse_boundary(p.boundary)) for p in places if p.boundary]
    frame = parse_boundary(outline.boundary) if outline is not None and outline.boundary else None
    if not items and frame is None:
        return None
    extent = [g for _, g in items] + ([frame] if frame is not None else [])
    minx = min(g.bounds[0] for g in extent)
    miny = min(g.bounds[1] for g in extent)
    maxx = max(g.bounds[2] for g in extent)
    maxy = max(g.bounds[3] for g in extent)
    kx = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * kx, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    scale = (WIDTH - 2 * padding) / span_x
    height = span_y * scale + 2 * padding

    def xy(lng: float, lat: float) -> tuple[float, float]:
        return (padding + (lng - minx) * kx * scale, padding + (maxy - lat) * scale)

    def path(geom) -> str:  # type: ignore[no-untyped-def]
        parts = []
        for ring in _rings(geom):
            pts = [xy(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
        return "".join(parts)

    shapes = []
    for place, geom in items:
        label = geom.representative_point()
        lx, ly = xy(label.x, label.y)
        shapes.append(MapShape(place=place, d=path(geom), label_x=lx, label_y=ly))
    return SvgMap(width=WIDTH, height=height, shapes=shapes, outline=path(frame) if frame else "")
