"""A small registry on top of the persona world (tests/personas.py), built through the services.

A院 › A1号 › 101室: household A — 王秀英 (head, 1950), 王建国 (spouse, 1948, owns B1-101),
                                  王小明 (grandchild, 2016, left-behind child)
     A1号: house profile (红旗巷1号, self-built, 3 floors, owner 王建国)
     vehicle 川L12345 (王建国) parks in the courtyard
B院 › B1号 › 101室: household B — 李四 (migrant renter, registration expires in 10 days)
     rental of B1-101: landlord 王建国, tenant 李四
     vehicle 川LD12345 (李四, new energy) parks at B1号
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sanan.core import clock
from sanan.places.models import Place
from sanan.registry.models import (
    Household,
    HouseProfile,
    Relation,
    Rental,
    RentalState,
    ResidenceType,
    Resident,
    Vehicle,
)
from sanan.registry.services import (
    house_profile_set,
    rental_create,
    resident_register,
    vehicle_register,
)
from sanan.registry.testing import fake_id_number
from tests.personas import World

ACTOR = "tests"

# Plain values the tests look for in the database (they must never be there).
WANG_ID = fake_id_number(birth_date=dt.date(1950, 5, 1), sequence=42)  # even: female
WANG_PHONE = "13912340001"
WANG_JIANGUO_ID = fake_id_number(birth_date=dt.date(1948, 2, 29), sequence=17)
WANG_JIANGUO_PHONE = "13912340002"
LANDLINE = "0833-2123456"
XIAOMING_ID = fake_id_number(birth_date=dt.date(2016, 9, 1), sequence=133)
LI_ID = fake_id_number(birth_date=dt.date(1990, 7, 15), sequence=271, region="510107")
LI_PHONE = "13712345678"


@dataclass(frozen=True)
class RegistryWorld:
    world: World
    household_a: Household
    household_b: Household
    wang: Resident  # head of household A
    jianguo: Resident
    xiaoming: Resident
    li: Resident  # migrant renter in B
    house_a: HouseProfile
    rental_b: Rental
    car_a: Vehicle
    car_b: Vehicle


def build_registry_world(world: World) -> RegistryWorld:
    today = clock.today()
    wang = resident_register(
        actor=ACTOR,
        place=world.unit_a,
        name="王秀英",
        id_number=WANG_ID,
        phone=WANG_PHONE,
        phone2=LANDLINE,
        moved_in_on=dt.date(1975, 3, 1),
        tags=["elderly_alone"],
    )
    household_a = wang.household
    jianguo = resident_register(
        actor=ACTOR,
        household=household_a,
        name="王建国",
        id_number=WANG_JIANGUO_ID,
        phone=WANG_JIANGUO_PHONE,
        relation_to_head=Relation.SPOUSE,
        work_or_school="退休",
        moved_in_on=dt.date(1975, 3, 1),
    )
    xiaoming = resident_register(
        actor=ACTOR,
        household=household_a,
        name="王小明",
        id_number=XIAOMING_ID,
        relation_to_head=Relation.GRANDCHILD,
        work_or_school="红旗小学",
        tags=["left_behind_child"],
    )
    li = resident_register(
        actor=ACTOR,
        place=world.unit_b,
        name="李四",
        id_number=LI_ID,
        phone=LI_PHONE,
        residence_type=ResidenceType.MIGRANT,
        moved_in_on=today - dt.timedelta(days=200),
        registration_expires_on=today + dt.timedelta(days=10),
    )
    house_a = house_profile_set(
        actor=ACTOR,
        house=world.house_a,
        house_number="红旗巷1号",
        owner=jianguo,
        floors=3,
        self_built=True,
    )
    rental_b = rental_create(
        actor=ACTOR,
        place=world.unit_b,
        landlord=jianguo,
        tenants=[li],
        starts_on=today - dt.timedelta(days=200),
        registration_state=RentalState.REGISTERED,
    )
    car_a = vehicle_register(actor=ACTOR, plate="川L 12345", owner=jianguo, place=world.courtyard_a)
    car_b = vehicle_register(actor=ACTOR, plate="川l·d12345", owner=li, place=world.house_b)
    return RegistryWorld(
        world=world,
        household_a=Household.objects.get(pk=household_a.pk),
        household_b=Household.objects.get(pk=li.household_id),
        wang=Resident.objects.get(pk=wang.pk),
        jianguo=Resident.objects.get(pk=jianguo.pk),
        xiaoming=Resident.objects.get(pk=xiaoming.pk),
        li=Resident.objects.get(pk=li.pk),
        house_a=house_a,
        rental_b=rental_b,
        car_a=car_a,
        car_b=car_b,
    )


def place(code: str) -> Place:
    return Place.objects.get(code=code)
