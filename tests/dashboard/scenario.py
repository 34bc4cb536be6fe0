"""A small season of orders in the persona world, made through the services at the moments
they happened (time-machine), for the dashboard's tests.

    September:  A — finished, rated solved + satisfied (a story), archived
                A — finished, rated partly solved + fairly satisfied
    October:    B — dispatched and never signed for (overdue now), chased and supervised
    November:   B — finished, not rated yet
                A — found on patrol by the commissioner, registered (open)
                A — registered now (open, not overdue)

The figures are then counted (``insights_refresh``, as the worker does every minute).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import time_machine

from sanan.insights.services import insights_refresh
from sanan.workorders import services
from sanan.workorders.models import WorkOrder
from sanan.workorders.state import State
from tests.workorders.world import WEDNESDAY_10, OrderWorld, at

STORY_TEXT = "A1号101室王阿姨家门口路灯坏了，电话13812345678"


@dataclass
class Season:
    solved: WorkOrder
    partly: WorkOrder
    overdue: WorkOrder
    unrated: WorkOrder
    found: WorkOrder
    fresh: WorkOrder


def _at(clock: time_machine.Coordinates, moment: dt.datetime) -> None:
    clock.move_to(moment)


def build_season(wo: OrderWorld, clock: time_machine.Coordinates) -> Season:
    w = wo.world
    _at(clock, at(2026, 9, 9, 10))
    solved = wo.order_in(State.CALLBACK, description=STORY_TEXT)
    solved = wo.drive(solved, State.ARCHIVED)
    _at(clock, at(2026, 9, 16, 10))
    partly = wo.order_in(State.FINISHED, place=w.house_a)
    services.work_order_callback(
        actor=wo.fresh(wo.resident), order=wo.reload(partly), resolution="partly",
        satisfaction="fairly",
    )  # fmt: skip
    _at(clock, at(2026, 10, 14, 10))
    overdue = wo.order_in(State.DISPATCHED, place=w.house_b, description="B1号楼道灯不亮")
    _at(clock, at(2026, 11, 18, 10))
    services.work_order_chase(actor=wo.fresh(wo.dispatcher), order=wo.reload(overdue))
    unrated = wo.order_in(State.FINISHED, place=w.house_b)
    _at(clock, at(2026, 11, 24, 9))
    services.work_order_supervise(actor=wo.fresh(wo.dispatcher), order=wo.reload(overdue))
    found = services.work_order_submit(
        actor=wo.fresh(wo.commissioner_a), channel="discovery", category=wo.street_light,
        description="巡查发现A院路灯不亮", place=w.house_a,
    ).order  # fmt: skip
    _at(clock, WEDNESDAY_10)
    fresh = wo.submit(description="A院水管漏水")
    insights_refresh()  # what the worker does every minute: the figures count the season
    return Season(
        solved=wo.reload(solved),
        partly=wo.reload(partly),
        overdue=wo.reload(overdue),
        unrated=wo.reload(unrated),
        found=wo.reload(found),
        fresh=wo.reload(fresh),
    )
