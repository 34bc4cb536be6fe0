"""Point → courtyard lookup through an in-memory STRtree of courtyard polygons.

The index is built lazily, rebuilt in this process as soon as a boundary changes (signal), and
revalidated against the database every few seconds so that other processes' edits are picked up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from django.db.models import Count, Max

from sanan.places.coords import CoordSystem, LatLng, to_wgs84
from sanan.places.geometry import parse_boundary
from sanan.places.models import Place, PlaceKind

REVALIDATE_SECONDS = 5.0


@dataclass(frozen=True)
class CourtyardIndex:
    """An immutable STRtree over courtyard polygons; ``ids[i]`` is the place id of ``geoms[i]``."""

    ids: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, rows: Iterable[tuple[int, dict]]) -> CourtyardIndex:
        ids: list[int] = []
        geoms: list[shapely.Geometry] = []
        for place_id, geojson in rows:
            ids.append(place_id)
            geoms.append(parse_boundary(geojson))
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
        id_array = np.asarray(ids, dtype=np.int64)[order]
        geom_array = np.asarray(geoms, dtype=object)[order]
        shapely.prepare(geom_array)
        return cls(ids=id_array, geoms=geom_array, tree=shapely.STRtree(geom_array))

    def lookup(self, lng: float, lat: float) -> int | None:
        """The id of the courtyard containing the WGS-84 point (lowest id on a shared edge)."""
        hits = self.tree.query(shapely.Point(lng, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return int(self.ids[hits.min()])

    def lookup_many(self, lngs: Sequence[float], lats: Sequence[float]) -> list[int | None]:
        """Vectorised :meth:`lookup` for many WGS-84 points at once."""
        points = shapely.points(np.asarray(lngs, dtype=float), np.asarray(lats, dtype=float))
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        result: list[int | None] = [None] * len(points)
        # ids are sorted, so the lowest geometry index is the lowest id (shared edges)
        for p, g in zip(point_idx.tolist(), geom_idx.tolist(), strict=True):
            current = result[p]
            if current is None or int(self.ids[g]) < current:
                result[p] = int(self.ids[g])
        return result

    def __len__(self) -> int:
        return len(self.ids)


class _IndexCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: CourtyardIndex | None = None
        self._stamp: tuple[int, object] | None = None
        self._checked_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._index = None
            self._stamp = None

    @staticmethod
    def _courtyards():  # type: ignore[no-untyped-def]
        return Place.objects.filter(kind=PlaceKind.COURTYARD, boundary__isnull=False)

    def _db_stamp(self) -> tuple[int, object]:
        agg = self._courtyards().aggregate(n=Count("id"), latest=Max("updated_at"))
        return (agg["n"], agg["latest"])

    def get(self) -> CourtyardIndex:
        with self._lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked_at < REVALIDATE_SECONDS:
                return self._index
            stamp = self._db_stamp()
            self._checked_at = now
            if self._index is None or stamp != self._stamp:
                rows = self._courtyards().order_by().values_list("id", "boundary")
                self._index = CourtyardIndex.build(rows)
                self._stamp = stamp
            return self._index


courtyard_index = _IndexCache()


def locate(point: LatLng, system: CoordSystem | str = CoordSystem.WGS84) -> Place | None:
    """The courtyard that contains ``point`` given in coordinate ``system``, or None."""
    wgs = to_wgs84(point, system)
    place_id = courtyard_index.get().lookup(wgs.lng, wgs.lat)
    return None if place_id is None else Place.objects.get(pk=place_id)
