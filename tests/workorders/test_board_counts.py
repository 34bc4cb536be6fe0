"""The board's maintained counters (``BoardCount``, decision 0003): every write path keeps
them equal to a recount (also checked after every test of this folder, ``conftest.py``), the
board and the queue read from them exactly what counting the orders one by one gives, for
every kind of scope, and ``sanan workorders recount`` repairs them."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, F, Q

from sanan.accounts.roles import Role
from sanan.accounts.services import role_grant
from sanan.core import clock as sanan_clock
from sanan.workorders import counts, services
from sanan.workorders.models import BoardCount, WorkOrder
from sanan.workorders.selectors import (
    BOARD_BUCKETS,
    QUEUE_BUCKETS,
    work_order_board,
    work_order_queue,
)
from sanan.workorders.state import OPEN_STATES, State
from sanan.workorders.sweep import sweep
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _slow_board(user: Any, now: dt.datetime) -> tuple[dict[str, int], dict[Any, tuple[int, int]]]:
    visible = WorkOrder.objects.visible_to(user)
    buckets = {code: visible.filter(fn(now, user)).count() for code, (_l, fn) in
               BOARD_BUCKETS.items()}  # fmt: skip
    loads = {
        row["courtyard_id"]: (row["open"], row["overdue"])
        for row in visible.filter(state__in=OPEN_STATES)
        .order_by()
        .values("courtyard_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=now)))
    }
    return buckets, loads


def _slow_queue(user: Any, now: dt.datetime) -> dict[str, int]:
    visible = WorkOrder.objects.visible_to(user)
    return {code: visible.filter(fn(now, user)).count() for code, (_l, fn) in
            QUEUE_BUCKETS.items()}  # fmt: skip


def _agree(wo: OrderWorld, people: list[Any]) -> None:
    now = sanan_clock.now()
    assert counts.differences() == {}
    for person in people:
        user = wo.fresh(person)
        board = work_order_board(user=user, now=now)
        buckets, loads = _slow_board(wo.fresh(person), now)
        assert {b.code: b.count for b in board.buckets} == buckets, person.username
        assert {c.courtyard_id: (c.open, c.overdue) for c in board.courtyards} == loads
        queue = work_order_queue(user=wo.fresh(person), now=now)
        assert {b.code: b.count for b in queue} == _slow_queue(wo.fresh(person), now)


def test_board_counts__board_and_queue_agree_with_counting_the_orders__every_scope(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    # A role below a courtyard (one house) besides a department's: its orders are counted
    # from the orders, not from the counters (which are cut at the courtyard).
    role_grant(actor="tests", user=wo.urban_handler, role=Role.COMMISSIONER,
               place=wo.world.house_a)  # fmt: skip
    people = [wo.dispatcher, wo.handler, wo.urban_handler, wo.unit_handler, wo.commissioner_a,
              wo.commissioner_b, wo.resident, wo.leader, wo.admin]  # fmt: skip
    first = wo.submit()
    emergency = wo.submit(place=wo.world.house_b, category=wo.waterlogging,
                          answers={"depth_cm": 40})  # fmt: skip
    assert emergency.emergency
    wo.order_in(State.DISPATCHED)
    co = wo.submit(place=wo.world.house_b)
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=co, lead_organisation=wo.urban,
        co_handlers=[wo.housing],
    )  # fmt: skip
    wo.order_in(State.RETURNED, place=wo.world.house_b)
    supervised = wo.order_in(State.IN_PROGRESS)
    services.work_order_supervise(actor=wo.fresh(wo.leader), order=wo.reload(supervised))
    moved = wo.order_in(State.SIGNED)
    services.work_order_transfer(
        actor=wo.fresh(wo.dispatcher), order=wo.reload(moved), lead_organisation=wo.housing_unit,
        reason="测试",
    )  # fmt: skip
    wo.order_in(State.FINISHED)
    wo.order_in(State.ARCHIVED)
    duplicate = wo.submit()
    services.work_order_merge(actor=wo.fresh(wo.dispatcher), parent=wo.reload(first),
                              children=[wo.reload(duplicate)])  # fmt: skip
    _agree(wo, people)
    # The clock's buckets: past the warning point, past the deadline, then the sweep marks
    # them (warned, chased, supervised) over the following working days.
    for moment in (
        dt.datetime(2026, 11, 25, 11, 45, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 25, 12, 5, tzinfo=SHANGHAI),
    ):
        clock.move_to(moment)
        _agree(wo, people)
        sweep()
        _agree(wo, people)
    clock.move_to(dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    sweep()
    _agree(wo, people)
    assert BoardCount.objects.filter(supervised=True).exists()


def test_board_counts__recount_command_repairs_them(wo: OrderWorld) -> None:
    wo.order_in(State.DISPATCHED)
    wo.submit(place=wo.world.house_b)
    BoardCount.objects.update(n=F("n") + 3)
    BoardCount.objects.filter(state=State.REGISTERED).delete()
    assert counts.differences() != {}
    out = StringIO()
    call_command("workorders", "recount", stdout=out)
    assert "repaired" in out.getvalue()
    assert counts.differences() == {}
    out = StringIO()
    call_command("workorders", "recount", stdout=out)
    assert "right" in out.getvalue()
