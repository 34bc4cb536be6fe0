"""Coordinates as phones and map apps give them: GPS (WGS-84), AMap/WeChat (GCJ-02) and Baidu
(BD-09). Sanan stores WGS-84; converting there and back must not move a door by a metre."""

from __future__ import annotations

import math

import pytest

from sanan.core.errors import DomainError
from sanan.places.coords import (
    CoordSystem,
    LatLng,
    distance_m,
    from_wgs84,
    parse_system,
    to_wgs84,
    validate,
)

LESHAN = LatLng(29.57, 103.76)

# A grid over the bounding box of mainland China (about 18-53 N, 74-134 E).
CHINA_GRID = [
    LatLng(lat, lng)
    for lat in (18.3, 23.1, 29.57, 34.3, 39.9, 45.8, 52.9)
    for lng in (75.9, 87.6, 97.2, 103.76, 108.9, 116.4, 121.5, 126.6, 133.9)
]
LANDMARKS = {
    "leshan": LESHAN,
    "chengdu": LatLng(30.6586, 104.0648),
    "beijing": LatLng(39.9087, 116.3975),
    "shanghai": LatLng(31.2304, 121.4737),
    "urumqi": LatLng(43.8256, 87.6168),
    "sanya": LatLng(18.2528, 109.5119),
}


def _grid_id(point: LatLng) -> str:
    return f"{point.lat}N-{point.lng}E"


@pytest.mark.parametrize("system", [CoordSystem.GCJ02, CoordSystem.BD09], ids=str)
@pytest.mark.parametrize("point", CHINA_GRID, ids=_grid_id)
def test_coords__round_trip__stays_within_a_metre_across_china(
    point: LatLng, system: CoordSystem
) -> None:
    there = from_wgs84(point, system)
    back = to_wgs84(there, system)
    assert distance_m(point, back) < 1.0


@pytest.mark.parametrize("name", sorted(LANDMARKS))
def test_coords__round_trip__stays_within_a_decimetre_in_cities(name: str) -> None:
    point = LANDMARKS[name]
    for system in (CoordSystem.GCJ02, CoordSystem.BD09):
        assert distance_m(point, to_wgs84(from_wgs84(point, system), system)) < 0.1


def test_coords__gcj02_at_leshan__is_hundreds_of_metres_off_gps() -> None:
    """Why every coordinate must name its system: mixing them up misses the courtyard."""
    offset = distance_m(LESHAN, from_wgs84(LESHAN, CoordSystem.GCJ02))
    assert 100 < offset < 1000


def test_coords__bd09_at_leshan__is_further_off_than_gcj02() -> None:
    gcj = distance_m(LESHAN, from_wgs84(LESHAN, CoordSystem.GCJ02))
    bd = distance_m(LESHAN, from_wgs84(LESHAN, CoordSystem.BD09))
    assert bd > gcj


def test_coords__wgs84__is_returned_unchanged() -> None:
    assert to_wgs84(LESHAN, "wgs84") == LESHAN
    assert from_wgs84(LESHAN, CoordSystem.WGS84) == LESHAN


def test_distance_m__one_degree_of_latitude__is_about_111_km() -> None:
    assert distance_m(LatLng(29.0, 103.76), LatLng(30.0, 103.76)) == pytest.approx(
        111_195, rel=1e-3
    )
    assert distance_m(LESHAN, LESHAN) == 0


@pytest.mark.parametrize(
    ("point", "bad_field"),
    [
        (LatLng(math.nan, 103.76), "lat"),
        (LatLng(29.57, math.nan), "lng"),
        (LatLng(math.inf, 103.76), "lat"),
        (LatLng(29.57, -math.inf), "lng"),
        (LatLng(91, 103.76), "lat"),
        (LatLng(-90.0001, 103.76), "lat"),
        (LatLng(29.57, 181), "lng"),
        (LatLng(29.57, -180.5), "lng"),
    ],
    ids=[
        "nan-lat",
        "nan-lng",
        "inf-lat",
        "minus-inf-lng",
        "lat-91",
        "lat-below-90",
        "lng-181",
        "lng-below-180",
    ],
)
def test_coords__validate__refuses_impossible_points(point: LatLng, bad_field: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate(point)
    assert caught.value.code == "coordinates.out_of_range"
    assert list(caught.value.fields) == [bad_field]


def test_coords__validate__names_both_fields_when_both_are_wrong() -> None:
    with pytest.raises(DomainError) as caught:
        validate(LatLng(91, 181))
    assert set(caught.value.fields) == {"lat", "lng"}


def test_coords__validate__refuses_text() -> None:
    with pytest.raises(DomainError) as caught:
        validate(LatLng("north", 103.76))  # type: ignore[arg-type]
    assert caught.value.code == "coordinates.not_a_number"


@pytest.mark.parametrize("point", [LatLng(90, 180), LatLng(-90, -180), LatLng(0, 0)])
def test_coords__validate__accepts_the_edges_of_the_range(point: LatLng) -> None:
    assert validate(point) == point


def test_coords__conversion__refuses_an_impossible_point_before_converting() -> None:
    with pytest.raises(DomainError) as caught:
        to_wgs84(LatLng(91, 103.76), CoordSystem.GCJ02)
    assert caught.value.code == "coordinates.out_of_range"


@pytest.mark.parametrize("value", ["mercator", "epsg:3857", "", "gcj"])
def test_coords__parse_system__refuses_an_unknown_system(value: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_system(value)
    assert caught.value.code == "coordinates.unknown_system"
    assert "system" in caught.value.fields


@pytest.mark.parametrize(
    ("alias", "system"),
    [
        ("wgs84", CoordSystem.WGS84),
        ("WGS-84", CoordSystem.WGS84),
        ("gps", CoordSystem.WGS84),
        ("gcj02", CoordSystem.GCJ02),
        ("GCJ-02", CoordSystem.GCJ02),
        ("gcj_02", CoordSystem.GCJ02),
        ("amap", CoordSystem.GCJ02),
        ("bd09", CoordSystem.BD09),
        ("BD-09", CoordSystem.BD09),
        ("bd09ll", CoordSystem.BD09),
        (" baidu ", CoordSystem.BD09),
        (CoordSystem.GCJ02, CoordSystem.GCJ02),
    ],
)
def test_coords__parse_system__accepts_names_people_use(
    alias: str | CoordSystem, system: CoordSystem
) -> None:
    assert parse_system(alias) is system
