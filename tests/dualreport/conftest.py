"""Dual-reporting fixtures: two registered units of the persona community (the persona
``p-unitmember`` of 测试医院 and a second unit with its own member), the clock stopped on a
Wednesday morning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.dualreport import services
from sanan.dualreport.models import Registration, RegistrationKind, Task
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.organisation.services import membership_add, organisation_ensure
from sanan.places.models import Place
from tests.factories import UserFactory
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10

TODAY = WEDNESDAY_10.date()


@dataclass
class Dual:
    world: World
    dispatcher: User
    leader: User
    resident: User
    member_a: User  # p-unitmember, of unit A
    member_b: User  # of unit B
    unit_a: Organisation
    unit_b: Organisation
    reg_a: Registration
    reg_b: Registration

    @property
    def community(self) -> Place:
        return self.world.community

    def fresh(self, user: User) -> User:
        return User.objects.get(pk=user.pk)

    def task(self, **kwargs: object) -> Task:
        defaults: dict[str, object] = {
            "actor": self.fresh(self.dispatcher),
            "place": self.world.courtyard_a,
            "title": "为A院独居老人清理楼道杂物",
            "slots": 2,
            "hours_per_slot": 3,
            "starts_on": TODAY,
            "due_on": TODAY + dt.timedelta(days=10),
        }
        defaults.update(kwargs)
        return services.task_publish(**defaults)  # type: ignore[arg-type]


def setup_dual(world: World) -> Dual:
    get = User.objects.get
    unit_a = Organisation.objects.get(code="t-unit")
    unit_b = organisation_ensure(
        actor="tests", kind=OrganisationKind.UNIT, code="t-unit-b", name="测试区税务局党支部",
        place=world.community,
    )  # fmt: skip
    member_b = UserFactory(roles=[(Role.UNIT_MEMBER, world.community, unit_b)])
    membership_add(actor="tests", organisation=unit_b, user=member_b)
    dispatcher = get(username="p-dispatcher")
    reg_a = services.registration_create(
        actor=dispatcher, place=world.community, kind=RegistrationKind.UNIT, organisation=unit_a,
        contact_name="张医生", contact_phone="13911112222", resources="义诊、健康讲座",
        capacity_hours_month=10, registered_on=TODAY - dt.timedelta(days=60),
    )  # fmt: skip
    reg_b = services.registration_create(
        actor=dispatcher, place=world.community, kind=RegistrationKind.UNIT, organisation=unit_b,
        contact_name="李会计", resources="税务咨询、志愿服务", capacity_hours_month=6,
        registered_on=TODAY - dt.timedelta(days=60),
    )  # fmt: skip
    return Dual(
        world=world,
        dispatcher=dispatcher,
        leader=get(username="p-leader"),
        resident=get(username="p-resident"),
        member_a=get(username="p-unitmember"),
        member_b=member_b,
        unit_a=unit_a,
        unit_b=unit_b,
        reg_a=reg_a,
        reg_b=reg_b,
    )


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dual(world: World, clock: time_machine.Coordinates) -> Dual:
    return setup_dual(world)
