"""The persona world: a small community in Chengdu, far from the demo in Leshan, built through
the services. ``tests/conftest.py`` commits it once per session and hands out its people.

    测试市 › 测试区 › 测试街道 › 测试社区 › 测试小区 › A院 (A1号 › 101室)
                                                   › B院 (B1号 › 101室)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import Argon2PasswordHasher

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant, user_create
from sanan.core.demo import build_demo
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from sanan.places.coords import LatLng
from sanan.places.models import Place, PlaceKind
from sanan.places.services import place_create
from tests.factories import PASSWORD

PERSONA_PASSWORD = PASSWORD

# Courtyards A and B are 100 m x 110 m side by side (WGS-84 lng, lat).
LNG0, LNG1, LNG2 = 104.0600, 104.0610, 104.0620
LAT0, LAT1 = 30.6600, 30.6610


def _box(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


COURTYARD_A_BOX = _box(LNG0, LAT0, LNG1, LAT1)
COURTYARD_B_BOX = _box(LNG1, LAT0, LNG2, LAT1)


@dataclass(frozen=True)
class PersonaSpec:
    username: str
    display_name: str
    phone: str
    role: Role
    place_code: str
    organisation_code: str | None = None


PERSONAS: dict[str, PersonaSpec] = {
    spec.username: spec
    for spec in [
        PersonaSpec("p-resident", "居民 王阿姨", "13900000001", Role.RESIDENT, "t-a-h1-101"),
        PersonaSpec("p-commissioner-a", "A院 院委", "13900000002", Role.COMMISSIONER, "t-court-a"),
        PersonaSpec("p-commissioner-b", "B院 院委", "13900000003", Role.COMMISSIONER, "t-court-b"),
        PersonaSpec("p-dispatcher", "社区 调度", "13900000004", Role.DISPATCHER, "t-community"),
        PersonaSpec("p-handler", "住建 经办", "13900000005", Role.HANDLER, "t-community", "t-dept"),
        PersonaSpec("p-leader", "社区 书记", "13900000006", Role.LEADER, "t-community"),
        PersonaSpec("p-admin", "系统 管理员", "13900000007", Role.ADMIN, "t-city"),
        PersonaSpec("p-butler", "红管家", "13900000008", Role.RED_BUTLER, "t-area"),
        PersonaSpec(
            "p-unitmember", "双报到", "13900000009", Role.UNIT_MEMBER, "t-community", "t-unit"
        ),
        PersonaSpec("p-committee", "居委 委员", "13900000010", Role.COMMITTEE, "t-area"),
        PersonaSpec("p-partymember", "党员 老李", "13900000012", Role.PARTY_MEMBER, "t-area"),
        PersonaSpec("p-open311", "城管通", "13900000011", Role.OPEN311_CLIENT, "t-community"),
    ]
}
PERSONA_FOR_ROLE: dict[str, str] = {
    Role.RESIDENT: "p-resident",
    Role.COMMISSIONER: "p-commissioner-a",
    Role.RED_BUTLER: "p-butler",
    Role.DISPATCHER: "p-dispatcher",
    Role.HANDLER: "p-handler",
    Role.UNIT_MEMBER: "p-unitmember",
    Role.COMMITTEE: "p-committee",
    Role.LEADER: "p-leader",
    Role.ADMIN: "p-admin",
    Role.PARTY_MEMBER: "p-partymember",
    Role.OPEN311_CLIENT: "p-open311",
}


def _persona_places() -> None:
    actor = "tests"
    city = place_create(actor=actor, parent=None, kind=PlaceKind.CITY, code="t-city", name="测试市")
    district = place_create(
        actor=actor, parent=city, kind=PlaceKind.DISTRICT, code="t-district", name="测试区"
    )
    sub = place_create(
        actor=actor, parent=district, kind=PlaceKind.SUBDISTRICT, code="t-sub", name="测试街道"
    )
    community = place_create(
        actor=actor, parent=sub, kind=PlaceKind.COMMUNITY, code="t-community", name="测试社区"
    )
    area = place_create(
        actor=actor,
        parent=community,
        kind=PlaceKind.AREA,
        code="t-area",
        name="测试小区",
        boundary=_box(LNG0, LAT0, LNG2, LAT1),
    )
    for letter, box, lng in (("a", COURTYARD_A_BOX, LNG0), ("b", COURTYARD_B_BOX, LNG1)):
        upper = letter.upper()
        courtyard = place_create(
            actor=actor,
            parent=area,
            kind=PlaceKind.COURTYARD,
            code=f"t-court-{letter}",
            name=f"{upper}院",
            boundary=box,
        )
        house = place_create(
            actor=actor,
            parent=courtyard,
            kind=PlaceKind.HOUSE,
            code=f"t-{letter}-h1",
            name=f"{upper}1号",
            point=LatLng(LAT0 + 0.0005, lng + 0.0005),
        )
        place_create(
            actor=actor, parent=house, kind=PlaceKind.UNIT, code=f"t-{letter}-h1-101", name="101室"
        )
    for kind, code, name in (
        (OrganisationKind.DEPARTMENT, "t-dept", "测试区住建局"),
        (OrganisationKind.UNIT, "t-unit", "测试医院（双报到单位）"),
    ):
        organisation_ensure(actor=actor, kind=kind, code=code, name=name, place=community)


def _persona_users() -> None:
    for spec in PERSONAS.values():
        user = user_create(
            actor="tests",
            username=spec.username,
            password=PERSONA_PASSWORD,
            display_name=spec.display_name,
            phone=spec.phone,
            superuser=spec.role == Role.ADMIN,
        )
        organisation = (
            Organisation.objects.get(code=spec.organisation_code)
            if spec.organisation_code
            else None
        )
        role_grant(
            actor="tests",
            user=user,
            role=spec.role,
            place=Place.objects.get(code=spec.place_code),
            organisation=organisation,
        )
        if organisation is not None:
            membership_add(actor="tests", organisation=organisation, user=user)


def ensure_personas() -> None:
    if not Place.objects.filter(code="t-city").exists():
        _persona_places()
    if not User.objects.filter(username="p-resident").exists():
        _persona_users()


def ensure_demo() -> None:
    if not Place.objects.filter(code="511102-tj-nyq-hq").exists() or not (
        User.objects.filter(username="admin").exists()
    ):
        build_demo(progress=lambda _line: None, registry=False, work_orders=0)


@dataclass(frozen=True)
class World:
    city: Place
    community: Place
    area: Place
    courtyard_a: Place
    courtyard_b: Place
    house_a: Place
    house_b: Place
    unit_a: Place
    unit_b: Place
    department: Organisation

    @classmethod
    def load(cls) -> World:
        get = Place.objects.get
        return cls(
            city=get(code="t-city"),
            community=get(code="t-community"),
            area=get(code="t-area"),
            courtyard_a=get(code="t-court-a"),
            courtyard_b=get(code="t-court-b"),
            house_a=get(code="t-a-h1"),
            house_b=get(code="t-b-h1"),
            unit_a=get(code="t-a-h1-101"),
            unit_b=get(code="t-b-h1-101"),
            department=Organisation.objects.get(code="t-dept"),
        )


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with test-sized costs: the same algorithm and code path as production (hashes
    read ``argon2$...``), a millisecond instead of ~0.3 s per hash and per sign-in."""

    time_cost = 1
    memory_cost = 64  # KiB
    parallelism = 1
