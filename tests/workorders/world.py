"""The work-order world on top of the persona world (``tests/personas.py``), built inside each
test's transaction: a second department with its handler, a unit of the housing department
with its handler, and helpers that drive an order to any state through the services.

    测试区住建局 (t-dept, handler p-handler)  ─ 住建局物业科 (t-dept-unit, handler ``unit_handler``)
    测试区城管局 (t-dept-urban, handler ``urban_handler``)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sanan.accounts.models import User
from sanan.accounts.roles import Role
from sanan.organisation.models import Organisation, OrganisationKind
from sanan.organisation.services import organisation_ensure
from sanan.places.models import Place
from sanan.workorders import services
from sanan.workorders.models import Category, WorkOrder
from sanan.workorders.seed import seed_all
from sanan.workorders.state import State
from tests.factories import UserFactory
from tests.personas import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment in Leshan's time zone."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# A Wednesday morning, far from any holiday: 2026-11-25 10:00 in Leshan.
WEDNESDAY_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@dataclass
class OrderWorld:
    world: World
    resident: User
    commissioner_a: User
    commissioner_b: User
    dispatcher: User
    handler: User
    leader: User
    admin: User
    urban_handler: User
    unit_handler: User
    housing: Organisation
    urban: Organisation
    housing_unit: Organisation
    street_light: Category
    water_outage: Category
    waterlogging: Category

    @property
    def community(self) -> Place:
        return self.world.community

    def fresh(self, user: User) -> User:
        """The same person without cached permissions (as in a new request)."""
        return User.objects.get(pk=user.pk)

    def submit(self, actor: User | None = None, **kwargs: Any) -> WorkOrder:
        kwargs.setdefault("channel", "resident_form")
        kwargs.setdefault("category", self.street_light)
        kwargs.setdefault("description", "A1号门口的路灯不亮了")
        if "point" not in kwargs:
            kwargs.setdefault("place", self.world.house_a)
        return services.work_order_submit(actor=actor or self.resident, **kwargs).order

    def reload(self, order: WorkOrder) -> WorkOrder:
        return WorkOrder.objects.select_related("place", "category", "lead_organisation").get(
            pk=order.pk
        )

    def drive(self, order: WorkOrder, to: str) -> WorkOrder:
        """Move ``order`` along the main path (or the side path for returned/callback) until it
        is in state ``to``, through the services as the people who would do it."""
        steps: dict[str, Any] = {
            State.REGISTERED: lambda o: services.work_order_dispatch(
                actor=self.fresh(self.dispatcher), order=o, lead_organisation=self.housing
            ),
            State.DISPATCHED: lambda o: services.work_order_sign(
                actor=self.fresh(self.handler), order=o
            ),
            State.SIGNED: lambda o: services.work_order_contact(
                actor=self.fresh(self.handler), order=o, public_note="我们已电话联系您"
            ),
            State.CONTACTED: lambda o: services.work_order_start(
                actor=self.fresh(self.handler), order=o
            ),
            State.IN_PROGRESS: lambda o: services.work_order_finish(
                actor=self.fresh(self.handler), order=o, public_note="路灯已更换灯泡"
            ),
            State.FINISHED: lambda o: services.work_order_callback(
                actor=self.fresh(self.resident), order=o, resolution="solved",
                satisfaction="satisfied",
            ),
            State.CALLBACK: lambda o: services.work_order_archive(
                actor=self.fresh(self.dispatcher), order=o
            ),
        }  # fmt: skip
        order = self.reload(order)
        if to == State.RETURNED:
            order = self.drive(order, State.DISPATCHED)
            services.work_order_return(
                actor=self.fresh(self.handler), order=order, reason_code="wrong_place"
            )
            return self.reload(order)
        guard = 0
        while order.state != to:
            steps[order.state](order)
            order = self.reload(order)
            guard += 1
            assert guard < 10, f"cannot reach {to}"
        return order

    def order_in(self, state: str, **kwargs: Any) -> WorkOrder:
        return self.drive(self.submit(**kwargs), state)


def build_order_world(world: World) -> OrderWorld:
    seed_all()  # a no-op unless a flush (transactional tests) emptied the reference tables
    get = User.objects.get
    housing = world.department
    urban = organisation_ensure(
        actor="tests",
        kind=OrganisationKind.DEPARTMENT,
        code="t-dept-urban",
        name="测试区城管局",
        place=world.community,
    )
    housing_unit = organisation_ensure(
        actor="tests",
        kind=OrganisationKind.DEPARTMENT,
        code="t-dept-unit",
        name="测试区住建局物业科",
        place=world.community,
    )
    Organisation.objects.filter(pk=housing_unit.pk).update(parent=housing)
    housing_unit.refresh_from_db()
    urban_handler = UserFactory(roles=[(Role.HANDLER, world.community, urban)])
    unit_handler = UserFactory(roles=[(Role.HANDLER, world.community, housing_unit)])
    category = Category.objects.get
    return OrderWorld(
        world=world,
        resident=get(username="p-resident"),
        commissioner_a=get(username="p-commissioner-a"),
        commissioner_b=get(username="p-commissioner-b"),
        dispatcher=get(username="p-dispatcher"),
        handler=get(username="p-handler"),
        leader=get(username="p-leader"),
        admin=get(username="p-admin"),
        urban_handler=urban_handler,
        unit_handler=unit_handler,
        housing=housing,
        urban=urban,
        housing_unit=housing_unit,
        street_light=category(code="street_light"),
        water_outage=category(code="water_outage"),
        waterlogging=category(code="waterlogging"),
    )
