"""Dashboard fixtures: the work-order world (``tests/workorders/world.py``) with the clock
stopped on a Wednesday morning in Leshan, as for the work-order tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world


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
