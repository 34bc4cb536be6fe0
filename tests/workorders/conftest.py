"""Work-order fixtures: ``wo`` (see ``world.py``) inside each test's transaction, the clock
stopped on a Wednesday morning in Leshan, and a fresh working calendar for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine

from sanan.workorders import counts
from sanan.workorders.sla import calendar_cache
from tests.personas import World
from tests.workorders.world import WEDNESDAY_10, OrderWorld, build_order_world


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Iterator[None]:
    """The calendar lives in process memory; a test's rolled-back edits must not leak."""
    calendar_cache.invalidate()
    yield
    calendar_cache.invalidate()


@pytest.fixture(autouse=True)
def _board_counts_match_a_recount(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that touched the database, the board's maintained counters equal a
    recount of the orders: a write path that changes a counted column without moving the
    order between counter rows fails the test that took it."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        yield
        return
    transactional = bool(names & {"transactional_db", "live_server"}) or bool(
        marker is not None and marker.kwargs.get("transaction")
    )
    # Set up first, torn down last: the check runs before the test's data is rolled back.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    assert counts.differences() == {}, "board counters differ from a recount"


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time stands still at Wednesday 2026-11-25 10:00 (Asia/Shanghai) until moved."""
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wo(world: World, clock: time_machine.Coordinates) -> OrderWorld:
    return build_order_world(world)
