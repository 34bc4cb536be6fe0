"""Hotline fixtures: the work-order world (``wo``) with the clock stopped on a Wednesday
morning in Leshan, a registered caller and two knowledge-base answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine

from sanan.hotline import services
from sanan.hotline.models import KnowledgeEntry
from sanan.registry.services import care_tags_ensure_standard, resident_register
from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world

PHONE = "13712345678"
ID_NUMBER = "51110219480312002X"


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    calendar_cache.invalidate()
    yield
    calendar_cache.invalidate()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wo(world: World, clock: time_machine.Coordinates) -> OrderWorld:
    return build_order_world(world)


@dataclass
class Desk:
    wo: OrderWorld
    caller: Any
    garbage: KnowledgeEntry
    water: KnowledgeEntry


@pytest.fixture
def desk(wo: OrderWorld) -> Desk:
    care_tags_ensure_standard()
    caller = resident_register(
        actor="tests", name="李大爷", place=wo.world.unit_a, phone=PHONE, tags=["elderly_alone"]
    )
    garbage = services.knowledge_save(
        actor=wo.dispatcher,
        place=wo.community,
        question="垃圾几点收运？",
        answer="每天早上7点和晚上7点各收运一次，大件垃圾请打物业电话预约。",
        keywords="垃圾 收运 倒垃圾",
    )
    water = services.knowledge_save(
        actor=wo.dispatcher,
        place=wo.community,
        question="停水通知在哪里看？",
        answer="停水通知贴在各院公告栏，也可以问院坝委员。",
        keywords="停水 自来水",
    )
    return Desk(wo=wo, caller=caller, garbage=garbage, water=water)
