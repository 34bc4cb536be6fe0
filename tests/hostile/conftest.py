"""The hostile-input suite's world: the work-order world and the small registry on top of the
persona world, the clock stopped on a Wednesday morning in Leshan, and uploads written to a
temporary folder. Everything is built inside each test's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine

from sanan.accounts.models import User
from sanan.hotline.models import KnowledgeEntry
from sanan.hotline.services import knowledge_save
from sanan.registry.services import care_tags_ensure_standard
from sanan.workorders.models import WorkOrder
from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.registry.world import RegistryWorld, build_registry_world
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world


@dataclass
class Hostile:
    wo: OrderWorld
    reg: RegistryWorld
    order: WorkOrder  # dispatched to the housing department
    knowledge: KnowledgeEntry
    media: Path

    @property
    def world(self) -> World:
        return self.wo.world

    def user(self, name: str) -> User:
        """A persona by its short name (``dispatcher``, ``commissioner_a`` ...), fresh."""
        return User.objects.get(pk=getattr(self.wo, name).pk)


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    calendar_cache.invalidate()
    yield
    calendar_cache.invalidate()


@pytest.fixture
def hostile(world: World, settings: Any, tmp_path: Path) -> Iterator[Hostile]:
    settings.MEDIA_ROOT = str(tmp_path)
    with time_machine.travel(WEDNESDAY_10, tick=False):
        care_tags_ensure_standard()
        wo = build_order_world(world)
        reg = build_registry_world(world)
        order = wo.order_in("dispatched")
        knowledge = knowledge_save(
            actor=wo.dispatcher,
            place=wo.community,
            question="垃圾几点收运？",
            answer="每天早上7点和晚上7点各收运一次。",
        )
        yield Hostile(wo=wo, reg=reg, order=order, knowledge=knowledge, media=tmp_path)
