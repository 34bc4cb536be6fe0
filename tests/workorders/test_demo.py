"""The demo's year of work orders (``workorders.demo``), built small: every order walked the
``TRANSITIONS`` table, the proportions look like a year in Hongqi, nobody is "satisfied" unless
they said so, and building again adds nothing."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest

from sanan.places.models import Place
from sanan.workorders import demo as wo_demo
from sanan.workorders.models import Channel, WorkOrder, WorkOrderEvent
from sanan.workorders.state import TRANSITIONS, Action, Satisfaction, State

END = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDERS = 150

pytestmark = pytest.mark.django_db


def test_work_order_demo__build__a_year_that_holds_together(demo: Place) -> None:
    """One build (it takes a while: every step goes through the services), four checks."""
    year = wo_demo.build_workorders_demo(
        seed=2018, progress=lambda _line: None, orders=ORDERS, end=END
    )
    _every_order_follows_the_transitions(year)
    _looks_like_a_year_in_hongqi()
    _nobody_is_satisfied_by_default()
    _build_again_adds_nothing(year)


def _events() -> dict[int, list[WorkOrderEvent]]:
    by_order: dict[int, list[WorkOrderEvent]] = defaultdict(list)
    for event in WorkOrderEvent.objects.order_by("at", "id"):
        by_order[event.order_id].append(event)
    return by_order


def _every_order_follows_the_transitions(year: dict[str, int]) -> None:
    orders = {o.pk: o for o in WorkOrder.objects.filter(idempotency_key__startswith="demo-wo-")}
    assert len(orders) == ORDERS == year["orders"]
    for pk, events in _events().items():
        order = orders[pk]
        first, rest = events[0], events[1:]
        assert (first.action, first.from_state, first.to_state) == (
            Action.SUBMIT, "", State.REGISTERED,
        )  # fmt: skip
        state = State.REGISTERED
        for event in rest:
            spec = TRANSITIONS[Action(event.action)]
            assert event.from_state == state, (order.reference, event.action)
            assert state in spec.sources, (order.reference, event.action, state)
            assert event.to_state == (spec.target or state), (order.reference, event.action)
            assert event.at <= END
            state = State(event.to_state)
        assert order.state == state, order.reference


def _looks_like_a_year_in_hongqi() -> None:
    orders = list(WorkOrder.objects.filter(idempotency_key__startswith="demo-wo-")
                  .select_related("category"))  # fmt: skip
    events = _events()
    channels = Counter(o.channel for o in orders)
    for channel in (Channel.RESIDENT_FORM, Channel.HOTLINE, Channel.DISCOVERY):
        assert channels[channel] >= ORDERS * 0.1, channels
    automatic = sum(
        1 for o in orders
        if any(e.action == Action.DISPATCH and e.data.get("automatic") for e in events[o.pk])
    )  # fmt: skip
    assert automatic >= ORDERS * 0.6  # the routing directory covers most categories
    actions = Counter(e.action for evs in events.values() for e in evs)
    assert 1 <= actions[Action.RETURN] <= ORDERS * 0.15
    assert actions[Action.RULE] >= 1
    assert actions[Action.CHASE] >= 1  # some orders went overdue and the sweep chased them
    assert actions[Action.CLOSE_UNRATED] >= 1
    assert actions[Action.REHANDLE] >= 1
    # Summer floods: more flood reports in June–August than in the other nine months.
    local = ZoneInfo("Asia/Shanghai")
    floods = Counter(
        o.created_at.astimezone(local).month in (6, 7, 8)
        for o in orders
        if o.category.path.startswith(_root_path("flood_disaster"))
    )
    assert floods[True] > floods[False]
    # A year ending today: the oldest order is about a year old, the newest ones still open.
    first = min(o.created_at for o in orders)
    assert END - dt.timedelta(days=366) <= first <= END - dt.timedelta(days=300)
    assert any(o.state not in (State.ARCHIVED,) for o in orders)
    # Most ratings are good, some bad; the bad ones were handled again.
    rated = Counter(
        e.data["satisfaction"] for evs in events.values() for e in evs
        if e.action == Action.CALLBACK
    )  # fmt: skip
    assert rated[Satisfaction.SATISFIED] > rated[Satisfaction.DISSATISFIED] >= 1
    assert actions[Action.REHANDLE] >= rated[Satisfaction.DISSATISFIED]


def _nobody_is_satisfied_by_default() -> None:
    events = _events()
    for order in WorkOrder.objects.filter(idempotency_key__startswith="demo-wo-"):
        callbacks = [e for e in events[order.pk] if e.action == Action.CALLBACK]
        closed_unrated = any(e.action == Action.CLOSE_UNRATED for e in events[order.pk])
        if order.satisfaction and order.satisfaction != Satisfaction.NOT_RATED:
            assert callbacks, order.reference
            assert callbacks[-1].data["satisfaction"] == order.satisfaction
        if closed_unrated:
            assert order.satisfaction == Satisfaction.NOT_RATED


def _build_again_adds_nothing(year: dict[str, int]) -> None:
    orders, events = WorkOrder.objects.count(), WorkOrderEvent.objects.count()
    again = wo_demo.build_workorders_demo(
        seed=2018, progress=lambda _line: None, orders=ORDERS, end=END
    )
    assert again == year
    assert (WorkOrder.objects.count(), WorkOrderEvent.objects.count()) == (orders, events)


def test_work_order_demo__plan__same_seed_same_year(demo: Place) -> None:
    world = wo_demo._world()
    assert world is not None

    def plan(seed: int) -> list[tuple[object, ...]]:
        sim = wo_demo.Simulation(world, random.Random(f"workorders-{seed}"), ORDERS, END)
        sim.plan()
        return [
            (at, i, step, sim.plans[i]["category"].code, sim.plans[i]["channel"])
            for at, _seq, i, step in sorted(sim.queue)
        ]

    assert plan(2018) == plan(2018)
    assert plan(2018) != plan(2019)


def _root_path(code: str) -> str:
    from sanan.workorders.models import Category

    return Category.objects.get(code=code).path
