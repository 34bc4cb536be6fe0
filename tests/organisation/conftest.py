"""Organisation fixtures: ``org`` (see ``world.py``) on top of the persona and work-order worlds,
built inside each test's transaction, the clock stopped on a Wednesday morning in Leshan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from sanan.workorders.sla import calendar_cache
from tests.organisation.world import OrgWorld, build_org_world
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, build_order_world


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
def org(world: World, clock: time_machine.Coordinates) -> OrgWorld:
    return build_org_world(build_order_world(world))
