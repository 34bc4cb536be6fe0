"""Who sees which orders, the dispatcher's board and the handler's queue — with query counts
that do not grow with the number of orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from sanan.accounts.models import User
from sanan.core.errors import NotFound
from sanan.workorders import services
from sanan.workorders.selectors import (
    work_order_board,
    work_order_bucket_list,
    work_order_get_for,
    work_order_list,
    work_order_queue,
)
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld, at


def _ids(user: User) -> set[int]:
    return set(work_order_list(user=user).values_list("pk", flat=True))


def test_work_order_list__each_role_sees_its_own_slice(wo: OrderWorld) -> None:
    mine = wo.submit()  # the resident's, in courtyard A, dispatched to housing below
    in_b = wo.submit(actor=wo.commissioner_b, channel="discovery", place=wo.world.courtyard_b)
    hotline_b = wo.submit(actor=wo.dispatcher, channel="hotline", place=wo.world.house_b)
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=mine, lead_organisation=wo.housing
    )
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=in_b, lead_organisation=wo.urban,
        co_handlers=[wo.housing],
    )  # fmt: skip
    everything = {mine.pk, in_b.pk, hotline_b.pk}
    assert _ids(wo.fresh(wo.resident)) == {mine.pk}
    assert _ids(wo.fresh(wo.commissioner_a)) == {mine.pk}
    assert _ids(wo.fresh(wo.commissioner_b)) == {in_b.pk, hotline_b.pk}
    assert _ids(wo.fresh(wo.handler)) == {mine.pk, in_b.pk}  # lead, and co-handler
    assert _ids(wo.fresh(wo.urban_handler)) == {in_b.pk}
    assert _ids(wo.fresh(wo.unit_handler)) == set()
    assert _ids(wo.fresh(wo.dispatcher)) == everything
    assert _ids(wo.fresh(wo.leader)) == everything
    assert _ids(wo.fresh(wo.admin)) >= everything
    with pytest.raises(NotFound):
        work_order_get_for(user=wo.fresh(wo.resident), pk=in_b.pk)


def test_work_order_board__counts_the_buckets_and_the_courtyards(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    wo.submit()
    wo.submit(place=wo.world.house_b)
    late = wo.order_in(State.DISPATCHED)
    wo.order_in(State.RETURNED, place=wo.world.house_b)
    wo.order_in(State.FINISHED)
    clock.move_to(at(2026, 11, 25, 11, 45))  # past the warning, before the 12:00 deadline
    board = work_order_board(user=wo.fresh(wo.dispatcher))
    counts = {b.code: b.count for b in board.buckets}
    assert counts["new"] == 2
    assert counts["returned"] == 1
    assert counts["awaiting_rating"] == 1
    assert counts["due_soon"] == 1
    assert counts["overdue"] == 0
    clock.move_to(at(2026, 11, 25, 12, 5))
    board = work_order_board(user=wo.fresh(wo.dispatcher))
    counts = {b.code: b.count for b in board.buckets}
    assert counts["overdue"] == 1
    assert counts["due_soon"] == 0
    loads = {c.name: (c.open, c.overdue) for c in board.courtyards}
    assert loads == {"A院": (2, 1), "B院": (2, 0)}
    overdue = work_order_bucket_list(user=wo.fresh(wo.dispatcher), bucket="overdue")
    assert [o.pk for o in overdue] == [late.pk]


def test_work_order_queue__the_handlers_buckets(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    wo.order_in(State.DISPATCHED)
    wo.order_in(State.IN_PROGRESS)
    co = wo.submit(place=wo.world.house_b)
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=co, lead_organisation=wo.urban,
        co_handlers=[wo.housing],
    )  # fmt: skip
    clock.move_to(at(2026, 11, 25, 12, 5))
    counts = {b.code: b.count for b in work_order_queue(user=wo.fresh(wo.handler))}
    assert counts == {
        "to_sign": 1,
        "in_progress": 1,
        "queue_due_soon": 0,
        "queue_overdue": 1,
        "co_handling": 1,
    }
    assert {b.code: b.count for b in work_order_queue(user=wo.fresh(wo.urban_handler))} == {
        "to_sign": 1, "in_progress": 0, "queue_due_soon": 0, "queue_overdue": 1, "co_handling": 0
    }  # fmt: skip


def _queries(run: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        run()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["dispatcher", "handler", "resident"])
def test_work_order_lists__query_count_does_not_grow_with_orders(
    wo: OrderWorld, api_as: Callable[[User], APIClient], who: str
) -> None:
    def once() -> tuple[int, int, int]:
        user = wo.fresh(getattr(wo, who))
        client = api_as(user)
        return (
            _queries(lambda: client.get("/api/v1/orders/").json()),
            _queries(lambda: work_order_board(user=wo.fresh(getattr(wo, who)))),
            _queries(lambda: work_order_queue(user=wo.fresh(getattr(wo, who)))),
        )

    wo.order_in(State.SIGNED)
    few = once()
    for _ in range(6):
        order = wo.order_in(State.DISPATCHED)
        services.work_order_transfer(
            actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.housing_unit,
            co_handlers=[wo.housing, wo.urban], reason="测试",
        )  # fmt: skip
    many = once()
    assert many == few
    assert few[1] <= 5  # the user's roles (2), the buckets, the courtyards, their names
    assert few[2] <= 3


def test_work_order_bucket_list__unknown_bucket(wo: OrderWorld) -> None:
    with pytest.raises(NotFound):
        work_order_bucket_list(user=wo.fresh(wo.dispatcher), bucket="everything")
