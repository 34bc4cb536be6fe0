"""Point → courtyard on the demo community: whatever app a point comes from, it lands in the
courtyard it is in, and only when its coordinate system is named."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from shapely import affinity
from shapely.geometry import Point, Polygon, mapping
from shapely.ops import unary_union

from sanan.accounts.models import User
from sanan.core.demo import COURTYARDS, HOUSES
from sanan.places.coords import CoordSystem, LatLng, from_wgs84
from sanan.places.geometry import parse_boundary
from sanan.places.locate import courtyard_index, locate
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_update

LOCATE_URL = "/api/v1/places/locate/"
NOWHERE = LatLng(29.40, 103.50)  # open country south-west of Leshan


def _polygon(place: Place) -> Polygon:
    return parse_boundary(place.boundary)  # type: ignore[return-value]


def _inside(place: Place) -> LatLng:
    """A point well inside the courtyard (more than ~10 m from every edge)."""
    poly = _polygon(place)
    centre = poly.centroid
    assert poly.contains(centre)
    assert poly.exterior.distance(centre) > 0.0001
    return LatLng(centre.y, centre.x)


@pytest.fixture
def courtyard(demo: Place) -> Place:
    return Place.objects.get(code="hq-c07")


@pytest.fixture
def demo_user(demo: Place) -> Callable[[str], User]:
    return lambda username: User.objects.get(username=username)


@pytest.mark.parametrize("code", ["hq-c01", "hq-c07", "hq-c23", "hq-c55"])
def test_locate__gps_point__lands_in_its_courtyard(demo: Place, code: str) -> None:
    courtyard = Place.objects.get(code=code)
    assert locate(_inside(courtyard)) == courtyard


@pytest.mark.parametrize("system", [CoordSystem.GCJ02, CoordSystem.BD09], ids=str)
def test_locate__map_app_point_with_its_system__lands_in_the_same_courtyard(
    courtyard: Place, system: CoordSystem
) -> None:
    as_the_app_gives_it = from_wgs84(_inside(courtyard), system)
    assert locate(as_the_app_gives_it, system) == courtyard
    assert locate(as_the_app_gives_it, system.value.upper()) == courtyard


def test_locate__gcj02_numbers_passed_as_gps__miss_the_courtyard(courtyard: Place) -> None:
    """An AMap point read as GPS is ~370 m off at Leshan: courtyards away, or outside."""
    gcj = from_wgs84(_inside(courtyard), CoordSystem.GCJ02)
    found = locate(gcj, CoordSystem.WGS84)
    assert found != courtyard


def test_locate__point_outside_every_courtyard__is_none(demo: Place) -> None:
    assert locate(NOWHERE) is None
    assert locate(from_wgs84(NOWHERE, "bd09"), "bd09") is None


def test_place__update_boundary__moves_the_courtyard_in_the_index_at_once(
    courtyard: Place,
) -> None:
    old_point = _inside(courtyard)
    moved = affinity.translate(_polygon(courtyard), yoff=0.01)  # ~1.1 km north, open ground
    new_point = LatLng(moved.centroid.y, moved.centroid.x)
    assert locate(new_point) is None  # the index is warm, and nothing is there yet

    place_update(actor="tests", place=courtyard, boundary=mapping(moved), reason="resurveyed")

    assert locate(new_point) == courtyard  # no waiting for the periodic revalidation
    assert locate(old_point) is None


def test_place__update_name_only__keeps_the_courtyard_findable(courtyard: Place) -> None:
    point = _inside(courtyard)
    place_update(actor="tests", place=courtyard, name="七号院（新）")
    assert locate(point) == courtyard


def test_demo__courtyards__tile_the_area_without_overlapping(demo: Place) -> None:
    courtyards = list(Place.objects.filter(kind=PlaceKind.COURTYARD, path__startswith=demo.path))
    assert len(courtyards) == COURTYARDS
    polygons = {c.code: _polygon(c) for c in courtyards}
    overlaps = {
        (a, b): polygons[a].intersection(polygons[b]).area
        for a, b in itertools.combinations(sorted(polygons), 2)
    }
    worst = max(overlaps, key=overlaps.__getitem__)
    # 1e-12 square degrees is about 0.01 m²: shared edges only.
    assert overlaps[worst] < 1e-12, f"{worst} overlap"
    union = unary_union(list(polygons.values()))
    assert union.area == pytest.approx(sum(p.area for p in polygons.values()), rel=1e-9)
    assert _polygon(demo).symmetric_difference(union).area < 1e-12  # the area is their union


def test_demo__every_house__stands_in_its_own_courtyard(demo: Place) -> None:
    places = Place.objects.filter(path__startswith=demo.path, depth__lte=demo.depth + 2)
    courtyards = {p.path: p for p in places if p.kind == PlaceKind.COURTYARD}
    houses = [p for p in places if p.kind == PlaceKind.HOUSE]
    assert len(houses) == HOUSES

    misplaced = []
    for house in houses:
        own = courtyards[house.path[: -Place.steplen]]
        if not _polygon(own).contains(Point(float(house.longitude), float(house.latitude))):
            misplaced.append(house.code)
    assert misplaced == []

    found = courtyard_index.get().lookup_many(
        [float(h.longitude) for h in houses], [float(h.latitude) for h in houses]
    )
    expected = [courtyards[h.path[: -Place.steplen]].pk for h in houses]
    assert found == expected


# --- the API -------------------------------------------------------------------------------------
def _api(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_locate_api__gcj02_point__answers_the_courtyard(
    courtyard: Place, demo: Place, demo_user: Callable[[str], User]
) -> None:
    gcj = from_wgs84(_inside(courtyard), CoordSystem.GCJ02)
    response = _api(demo_user("leader")).get(
        LOCATE_URL, {"lat": gcj.lat, "lng": gcj.lng, "system": "gcj02"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == courtyard.pk
    assert body["name"] == courtyard.name
    assert body["kind"] == "courtyard"
    assert body["parent_id"] == demo.pk


def test_locate_api__no_system__means_gps(
    courtyard: Place, demo_user: Callable[[str], User]
) -> None:
    point = _inside(courtyard)
    response = _api(demo_user("leader")).get(LOCATE_URL, {"lat": point.lat, "lng": point.lng})
    assert response.status_code == 200
    assert response.json()["id"] == courtyard.pk


def test_locate_api__unknown_system__is_refused(demo_user: Callable[[str], User]) -> None:
    response = _api(demo_user("leader")).get(
        LOCATE_URL, {"lat": 29.57, "lng": 103.76, "system": "mercator"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "coordinates.unknown_system"
    assert "system" in response.json()["fields"]


@pytest.mark.parametrize("lat", ["nan", "inf", "-Infinity", "north"])
def test_locate_api__latitude_not_a_number__is_refused(
    demo_user: Callable[[str], User], lat: str
) -> None:
    response = _api(demo_user("leader")).get(LOCATE_URL, {"lat": lat, "lng": 103.76})
    assert response.status_code == 400
    assert response.json()["code"] == "validation.invalid"
    assert list(response.json()["fields"]) == ["lat"]


def test_locate_api__latitude_91__is_out_of_range(demo_user: Callable[[str], User]) -> None:
    response = _api(demo_user("leader")).get(LOCATE_URL, {"lat": 91, "lng": 103.76})
    assert response.status_code == 400
    assert response.json()["code"] == "coordinates.out_of_range"
    assert list(response.json()["fields"]) == ["lat"]


def test_locate_api__point_outside_every_courtyard__is_404(
    demo_user: Callable[[str], User],
) -> None:
    response = _api(demo_user("leader")).get(LOCATE_URL, {"lat": NOWHERE.lat, "lng": NOWHERE.lng})
    assert response.status_code == 404
    assert response.json()["code"] == "place.not_in_any_courtyard"


def test_locate_api__courtyard_out_of_the_users_scope__is_404_like_nowhere(
    courtyard: Place, demo_user: Callable[[str], User]
) -> None:
    """The commissioner of courtyard 1 cannot learn that courtyard 7 is there."""
    point = _inside(courtyard)
    response = _api(demo_user("commissioner")).get(LOCATE_URL, {"lat": point.lat, "lng": point.lng})
    assert response.status_code == 404
    assert response.json()["code"] == "place.not_in_any_courtyard"


def test_locate_api__anonymous__is_401(demo: Place) -> None:
    response = APIClient().get(LOCATE_URL, {"lat": 29.57, "lng": 103.76})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.not_authenticated"
