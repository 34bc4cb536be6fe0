"""The demo community: Leshan → Shizhong → Tongjiang → Niuyuqiao → Hongqi, 55 courtyards.

Deterministic for a seed and idempotent: every object has a stable code and is only created
when missing, so running it again completes the data without duplicating anything.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from sanan.accounts.demo import demo_user
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant
from sanan.campaigns.demo import build_campaigns_demo
from sanan.dualreport.demo import build_dualreport_demo
from sanan.hotline.demo import build_hotline_demo
from sanan.insights.services import insights_refresh
from sanan.organisation.demo import build_organisation_demo
from sanan.organisation.models import OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from sanan.places.coords import LatLng
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from sanan.registry.demo import build_registry_demo
from sanan.workorders.demo import build_workorders_demo
from sanan.workorders.seed import seed_all

# Hongqi sits near 29.57 N, 103.76 E. The courtyards tile an 11 x 5 block of old lanes.
ORIGIN_LAT, ORIGIN_LNG = 29.5680, 103.7560
COLS, ROWS = 11, 5
CELL_LNG, CELL_LAT = 0.00062, 0.00055  # about 60 m x 61 m
COURTYARDS = COLS * ROWS  # 55
HOUSES = 177

LANES = ["红旗巷", "禁毒巷", "和谐巷", "文明巷", "孝善巷", "法治巷", "平安巷", "连心巷"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"

SYSTEM = "demo"


@dataclass(frozen=True)
class DemoLogin:
    role_label: str
    username: str
    phone: str
    scope: str


@dataclass
class DemoResult:
    password: str
    places: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.places.items())


def _ensure(parent: Place | None, kind: str, code: str, name: str, **extra: object) -> Place:
    existing = Place.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return place_create(actor=SYSTEM, parent=parent, kind=kind, code=code, name=name, **extra)  # type: ignore[arg-type]


def courtyard_polygons(rng: random.Random) -> list[Polygon]:
    """A jittered grid: neighbours share their corner points, so cells tile without overlap."""
    corners: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(COLS + 1):
        for j in range(ROWS + 1):
            edge_x = i in (0, COLS)
            edge_y = j in (0, ROWS)
            dx = 0.0 if edge_x else rng.uniform(-0.22, 0.22) * CELL_LNG
            dy = 0.0 if edge_y else rng.uniform(-0.22, 0.22) * CELL_LAT
            corners[(i, j)] = (ORIGIN_LNG + i * CELL_LNG + dx, ORIGIN_LAT + j * CELL_LAT + dy)
    cells = []
    for j in reversed(range(ROWS)):  # number from the north-west corner
        for i in range(COLS):
            ring = [
                corners[(i, j)],
                corners[(i + 1, j)],
                corners[(i + 1, j + 1)],
                corners[(i, j + 1)],
                corners[(i, j)],
            ]
            cells.append(Polygon([(round(x, 7), round(y, 7)) for x, y in ring]))
    return cells


def _point_inside(rng: random.Random, poly: Polygon) -> Point:
    minx, miny, maxx, maxy = poly.bounds
    shrunk = poly.buffer(-0.00005)
    target = shrunk if not shrunk.is_empty else poly
    for _ in range(200):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if target.contains(p):
            return p
    return poly.representative_point()


def _demo_phone(n: int) -> str:
    return f"1380833{n:04d}"


def build_demo(
    *,
    seed: int = 2018,
    progress: Callable[[str], object] = print,
    registry: bool = True,
    work_orders: int = 3000,
) -> DemoResult:
    """Places, organisations and one user per role; then (optionally) the registry's people,
    houses and cars, and a simulated year of ``work_orders`` orders through the services."""
    rng = random.Random(seed)
    result = DemoResult(password=settings.DEMO_PASSWORD)
    seed_all()  # work-order categories, SLA policies, calendar: a no-op after `migrate`
    with transaction.atomic():
        city = _ensure(None, PlaceKind.CITY, "511100", "乐山市")
        district = _ensure(city, PlaceKind.DISTRICT, "511102", "市中区")
        subdistrict = _ensure(district, PlaceKind.SUBDISTRICT, "511102-tj", "通江街道")
        community = _ensure(subdistrict, PlaceKind.COMMUNITY, "511102-tj-nyq", "牛咡桥社区")
        cells = courtyard_polygons(rng)
        area_boundary = unary_union(cells)
        area = _ensure(
            community,
            PlaceKind.AREA,
            "511102-tj-nyq-hq",
            "红旗小区",
            boundary={
                "type": area_boundary.geom_type,
                "coordinates": [list(map(list, area_boundary.exterior.coords))],
            },
            address="乐山市市中区牛咡桥社区红旗小区",
        )
    progress(
        f"  places: {city.name} › {district.name} › {subdistrict.name} › "
        f"{community.name} › {area.name}"
    )

    # Houses are spread over the courtyards: every courtyard has at least two.
    per_courtyard = [2] * COURTYARDS
    for _ in range(HOUSES - 2 * COURTYARDS):
        per_courtyard[rng.randrange(COURTYARDS)] += 1

    courtyards: list[Place] = []
    house_number = 0
    units = 0
    for index, cell in enumerate(cells, start=1):
        with transaction.atomic():
            lane = LANES[(index - 1) // 7 % len(LANES)]
            courtyard = _ensure(
                area,
                PlaceKind.COURTYARD,
                f"hq-c{index:02d}",
                f"{index}号院",
                boundary={
                    "type": "Polygon",
                    "coordinates": [list(map(list, cell.exterior.coords))],
                },
                address=f"{lane}{index}号院",
            )
            courtyards.append(courtyard)
            for h in range(1, per_courtyard[index - 1] + 1):
                house_number += 1
                door = _point_inside(rng, cell)
                floors = rng.choice([2, 3, 3, 4, 4, 5])
                house = _ensure(
                    courtyard,
                    PlaceKind.HOUSE,
                    f"hq-c{index:02d}-h{h:02d}",
                    f"{lane}{house_number}号",
                    point=LatLng(door.y, door.x),
                    address=f"红旗小区{lane}{house_number}号",
                )
                for floor in range(1, floors + 1):
                    for room in range(1, rng.choice([1, 1, 2]) + 1):
                        _ensure(
                            house,
                            PlaceKind.UNIT,
                            f"{house.code}-{floor}0{room}",
                            f"{floor}0{room}室",
                        )
                        units += 1
        if index % 11 == 0:
            progress(f"  courtyards: {index}/{COURTYARDS}")
    result.places = {
        "courtyards": len(courtyards),
        "houses": Place.objects.filter(kind=PlaceKind.HOUSE, path__startswith=area.path).count(),
        "units": Place.objects.filter(kind=PlaceKind.UNIT, path__startswith=area.path).count(),
    }

    with transaction.atomic():
        housing = organisation_ensure(
            actor=SYSTEM,
            kind=OrganisationKind.DEPARTMENT,
            code="dept-housing",
            name="市中区住房和城乡建设局",
            place=community,
        )
        unit = organisation_ensure(
            actor=SYSTEM,
            kind=OrganisationKind.UNIT,
            code="unit-hospital",
            name="乐山市人民医院党总支",
            place=community,
        )
        first_house = Place.objects.get(code="hq-c01-h01")
        first_unit = Place.objects.filter(
            path__startswith=first_house.path, kind=PlaceKind.UNIT
        ).first()
        assert first_unit is not None
        people = [
            (Role.RESIDENT, "resident", "王秀英", first_unit, None),
            (Role.COMMISSIONER, "commissioner", "李建国", courtyards[0], None),
            (Role.COMMISSIONER, "commissioner2", "张桂芳", courtyards[1], None),
            (Role.RED_BUTLER, "butler", "刘德华", area, None),
            (Role.DISPATCHER, "dispatcher", "陈静", community, None),
            (Role.HANDLER, "handler", "杨波", community, housing),
            (Role.UNIT_MEMBER, "unitmember", "黄丽", community, unit),
            (Role.COMMITTEE, "committee", "赵明", area, None),
            (Role.LEADER, "leader", "周红", community, None),
            (Role.ADMIN, "admin", "孙伟", city, None),
        ]
        for n, (role, username, name, place, org) in enumerate(people, start=1):
            phone = _demo_phone(n)
            user = demo_user(
                actor=SYSTEM,
                username=username,
                display_name=name,
                phone=phone,
                superuser=role == Role.ADMIN,
            )
            role_grant(
                actor=SYSTEM,
                user=user,
                role=role,
                place=place,
                organisation=org,
                reason="demo community",
            )
            if org is not None:
                membership_add(
                    actor=SYSTEM, organisation=org, user=user, title=str(Role(role).label)
                )
            scope = f"{place.name}" + (f" · {org.name}" if org else "")
            result.logins.append(DemoLogin(str(Role(role).label), username, phone, scope))
    if registry:
        progress("  registry: households, residents, houses, rentals, vehicles, care tags")
        result.places.update(build_registry_demo(seed=seed, progress=progress))
    result.places.update(
        build_organisation_demo(seed=seed, progress=progress, logins=result.logins)
    )
    if work_orders:
        progress(f"  work orders: simulating a year of {work_orders} orders (takes a few minutes)")
        result.places.update(
            build_workorders_demo(seed=seed, progress=progress, orders=work_orders)
        )
        result.places.update(build_hotline_demo(seed=seed, progress=progress))
        result.places.update(build_campaigns_demo(seed=seed, progress=progress))
        result.places.update(build_dualreport_demo(seed=seed, progress=progress))
    progress("  figures: counting the key figures from the orders' events")
    insights_refresh(full=True)
    return result
