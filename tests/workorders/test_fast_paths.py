"""The short cuts that make intake and the board cheap keep every behaviour: an order routed at
intake is written once, already dispatched, yet reads exactly like one dispatched in two steps;
the catalogue kept in memory follows every change; the board reads only the orders it shows,
through the order's own place path."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sanan.audit.models import AuditEvent
from sanan.audit.services import audit_verify
from sanan.core import clock
from sanan.workorders import counts, routing
from sanan.workorders.catalogue import catalogue, catalogue_cache
from sanan.workorders.models import (
    CatalogueStamp,
    Category,
    OutboxMessage,
    WorkOrder,
    WorkOrderEvent,
)
from sanan.workorders.selectors import BOARD_BUCKETS, work_order_board
from sanan.workorders.state import OPEN_STATES, State
from tests.workorders.world import OrderWorld

pytestmark = pytest.mark.django_db


def _rule(wo: OrderWorld) -> None:
    routing.routing_rule_create(
        actor=wo.fresh(wo.dispatcher),
        category=Category.objects.get(code="infrastructure"),
        place=wo.community,
        lead_organisation=wo.housing,
        co_handlers=[wo.urban],
    )


def test_work_order__routed_at_intake__reads_like_two_steps(wo: OrderWorld) -> None:
    _rule(wo)
    order = wo.submit()
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.state, stored.version) == (State.DISPATCHED, 2)  # as after a claimed dispatch
    assert stored.place_path == wo.world.house_a.path
    assert list(stored.co_handlers.all()) == [wo.urban]
    assert list(order.co_handlers.all()) == [wo.urban]  # the order in hand knows them too
    events = list(WorkOrderEvent.objects.filter(order=order).order_by("id"))
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("submit", "", State.REGISTERED),
        ("dispatch", State.REGISTERED, State.DISPATCHED),
    ]
    audits = list(
        AuditEvent.objects.filter(
            object_type="workorders.workorder", object_id=str(order.pk)
        ).order_by("seq")
    )
    assert [(a.action, a.data["event"]) for a in audits] == [
        ("work_order.submit", events[0].pk),
        ("work_order.dispatch", events[1].pk),
    ]
    assert audits[1].seq == audits[0].seq + 1
    assert audit_verify().ok
    outbox = {
        (m.template, m.event_id, m.payload["state"])
        for m in OutboxMessage.objects.filter(order=order)
    }
    assert outbox == {
        ("work_order.registered", events[0].pk, State.REGISTERED),
        ("work_order.dispatched", events[1].pk, State.DISPATCHED),
        ("work_order.co_dispatched", events[1].pk, State.DISPATCHED),
    }


def test_catalogue__reloaded_when_its_stamp_changes_and_only_then(wo: OrderWorld) -> None:
    catalogue_cache.invalidate()
    first = catalogue()
    assert catalogue() is first  # unchanged: the snapshot in memory
    CatalogueStamp.objects.filter(pk=1).update(token="changed-elsewhere")  # another process
    assert catalogue() is not first
    light = Category.objects.get(code="street_light")
    light.active = False
    light.save()  # a change through the model gives a new stamp in its transaction
    assert catalogue().categories[light.pk].active is False


def test_catalogue__a_rule_retired_is_no_longer_used(wo: OrderWorld) -> None:
    _rule(wo)
    assert wo.submit().state == State.DISPATCHED
    rule = routing.route_for(category=wo.street_light, place=wo.world.house_a).rule
    assert rule is not None
    routing.routing_rule_retire(actor=wo.fresh(wo.dispatcher), rule=rule)
    assert wo.submit().state == State.REGISTERED


def test_work_order_board__ignores_the_archive_and_agrees_with_the_scope(wo: OrderWorld) -> None:
    kept = [wo.order_in(State.DISPATCHED), wo.order_in(State.REGISTERED)]
    archived = wo.order_in(State.ARCHIVED)
    dispatcher = wo.fresh(wo.dispatcher)
    board = work_order_board(user=dispatcher)
    visible = WorkOrder.objects.visible_to(dispatcher)
    now = clock.now()
    expected = {code: visible.filter(fn(now, dispatcher)).count() for code, (_l, fn) in
                BOARD_BUCKETS.items()}  # fmt: skip
    assert {b.code: b.count for b in board.buckets} == expected
    open_total = visible.filter(state__in=OPEN_STATES).count()
    assert sum(c.open for c in board.courtyards) == open_total == len(kept)
    assert WorkOrder.objects.get(pk=archived.pk).state == State.ARCHIVED
    assert expected["new"] == 1
    assert counts.differences() == {}  # the counters the board read are a recount


def test_orders_api__intake_answer__is_the_read_of_the_order_in_few_statements(
    wo: OrderWorld, django_assert_num_queries: Any
) -> None:
    """A submission with a token answers what a read of the new order gives, in a fixed
    number of statements: token, catalogue stamp, place with its courtyard, roles, then the writes
    (order, its co-handler, events, outbox, the board's counters, audit head read, audit rows,
    audit head) in a transaction (a savepoint inside the test's)."""
    _rule(wo)
    token = Token.objects.create(user=wo.resident)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {
        "category": wo.street_light.pk,
        "description": "A1号门口的路灯不亮了",
        "place": wo.world.house_a.pk,
        "channel": "api",
    }
    client.post("/api/v1/orders/", body, format="json", headers={"Idempotency-Key": "warm"})
    with django_assert_num_queries(14):
        made = client.post(
            "/api/v1/orders/", body, format="json", headers={"Idempotency-Key": "k-1"}
        )
    assert made.status_code == 201, made.content
    read = client.get(f"/api/v1/orders/{made.json()['id']}/")
    assert made.json() == read.json()
    assert made.json()["state"] == State.DISPATCHED
