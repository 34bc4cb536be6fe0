"""Work-order fixtures: ``wo`` (see ``world.py``) inside each test's transaction, the clock
stopped on a Wednesday morning in Leshan, and a fresh working calendar for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    """The calendar lives in process memory; a test's rolled-back edits must not leak."""
    calendar_cache.invalidate()
    yield
    calendar_cache.invalidate()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time stands still at Wednesday 2026-11-25 10:00 (Asia/Shanghai) until moved."""
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wo(world: World, clock: time_machine.Coordinates) -> OrderWorld:
    return build_order_world(world)
