"""The state machine: the TRANSITIONS table itself, and every (state, action) pair of it
played through the services — allowed pairs succeed, all others are 409
``work_order.illegal_transition`` and leave nothing behind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import transaction

from sanan.accounts.roles import ALL_ACTIONS
from sanan.audit.models import AuditEvent
from sanan.core.errors import Conflict
from sanan.workorders import services
from sanan.workorders.models import OutboxMessage, WorkOrder, WorkOrderEvent
from sanan.workorders.state import (
    INTAKE,
    TRANSITIONS,
    Action,
    State,
    actions_from,
    ensure_transition,
)
from tests.workorders.world import WEDNESDAY_10, OrderWorld


def test_transitions__every_grant_names_a_role_action() -> None:
    for spec in TRANSITIONS.values():
        assert spec.grants or spec.system, spec.action
        for grant in spec.grants:
            assert grant.permission in ALL_ACTIONS, (spec.action, grant.permission)


def test_transitions__every_state_is_reachable_and_only_archived_is_final() -> None:
    reached = {INTAKE.target}
    frontier = [INTAKE.target]
    while frontier:
        state = frontier.pop()
        for action in actions_from(state):
            target = TRANSITIONS[action].target or state
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)
    finals = {s for s in State if all(TRANSITIONS[a].target in (None, s) for a in actions_from(s))}
    assert finals == {State.ARCHIVED}


EXPECTED = {
    # action: (from, to) — the 12345 practice of domain.md, written out once more by hand
    "dispatch": ("registered", "dispatched"),
    "sign": ("dispatched", "signed"),
    "return": ("dispatched signed", "returned"),
    "rule": ("returned", "dispatched"),
    "transfer": ("dispatched signed contacted in_progress", "dispatched"),
    "contact": ("signed", "contacted"),
    "start": ("contacted", "in_progress"),
    "request_extension": ("signed contacted in_progress", None),
    "decide_extension": ("signed contacted in_progress", None),
    "warn": ("dispatched signed contacted in_progress", None),
    "chase": ("dispatched signed contacted in_progress", None),
    "supervise": ("dispatched signed contacted in_progress", None),
    "finish": ("contacted in_progress", "finished"),
    "callback": ("finished", "callback"),
    "rehandle": ("callback", "dispatched"),
    "archive": ("callback", "archived"),
    "close_unrated": ("finished", "archived"),
    "note": ("registered dispatched returned signed contacted in_progress finished callback", None),
    "merge": ("registered dispatched returned signed contacted in_progress", "archived"),
}


def test_transitions__are_the_ones_of_the_domain() -> None:
    table = {action.value: (set(spec.sources), spec.target) for action, spec in TRANSITIONS.items()}
    assert table == {a: (set(src.split()), to) for a, (src, to) in EXPECTED.items()}


def test_ensure_transition__names_the_state_and_the_action() -> None:
    with pytest.raises(Conflict) as caught:
        ensure_transition(State.ARCHIVED, Action.SIGN)
    assert caught.value.code == "work_order.illegal_transition"
    assert caught.value.status_code == 409
    assert ensure_transition(State.DISPATCHED, Action.SIGN).target == State.SIGNED


def _attempts(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> dict[Action, Callable[[WorkOrder], Any]]:
    """One valid call per action. The administrator (who sees every order and holds every
    grant) plays them, so that only the state decides; who may act is tested elsewhere."""

    def f(_user: Any) -> Any:
        return wo.fresh(wo.admin)

    def decide(order: WorkOrder) -> Any:
        if order.state in TRANSITIONS[Action.REQUEST_EXTENSION].sources:
            services.work_order_request_extension(
                actor=f(wo.handler), order=order, days=2, reason="等待配件"
            )
            order = wo.reload(order)
        return services.work_order_decide_extension(
            actor=f(wo.dispatcher), order=order, approve=True
        )

    def close_unrated(order: WorkOrder) -> Any:  # once the rating window has passed
        clock.move_to(WEDNESDAY_10 + dt.timedelta(days=services.rating_days() + 1))
        try:
            return services.work_order_close_unrated(actor=f(wo.dispatcher), order=order)
        finally:
            clock.move_to(WEDNESDAY_10)

    # The order duplicates are merged into: open, and made before any attempt is counted.
    parent = wo.submit(actor=wo.fresh(wo.resident), description="A1号门口路灯坏了")

    return {
        Action.DISPATCH: lambda o: services.work_order_dispatch(
            actor=f(wo.dispatcher), order=o, lead_organisation=wo.housing
        ),
        Action.SIGN: lambda o: services.work_order_sign(actor=f(wo.handler), order=o),
        Action.RETURN: lambda o: services.work_order_return(
            actor=f(wo.handler), order=o, reason_code="unclear_ownership"
        ),
        Action.RULE: lambda o: services.work_order_rule(
            actor=f(wo.dispatcher), order=o, decision="redispatch", reason="城管负责",
            lead_organisation=wo.urban,
        ),
        Action.TRANSFER: lambda o: services.work_order_transfer(
            actor=f(wo.dispatcher), order=o, lead_organisation=wo.urban, reason="职能调整"
        ),
        Action.CONTACT: lambda o: services.work_order_contact(actor=f(wo.handler), order=o),
        Action.START: lambda o: services.work_order_start(actor=f(wo.handler), order=o),
        Action.REQUEST_EXTENSION: lambda o: services.work_order_request_extension(
            actor=f(wo.handler), order=o, days=2, reason="等待配件"
        ),
        Action.DECIDE_EXTENSION: decide,
        Action.WARN: lambda o: ensure_transition(o.state, Action.WARN),  # the sweep's own
        Action.CHASE: lambda o: services.work_order_chase(actor=f(wo.dispatcher), order=o),
        Action.SUPERVISE: lambda o: services.work_order_supervise(actor=f(wo.leader), order=o),
        Action.FINISH: lambda o: services.work_order_finish(
            actor=f(wo.handler), order=o, public_note="已修好"
        ),
        Action.CALLBACK: lambda o: services.work_order_callback(
            actor=f(wo.dispatcher), order=o, resolution="solved", satisfaction="satisfied"
        ),
        Action.REHANDLE: lambda o: services.work_order_rehandle(
            actor=f(wo.dispatcher), order=o, reason="居民再次来电"
        ),
        Action.ARCHIVE: lambda o: services.work_order_archive(actor=f(wo.dispatcher), order=o),
        Action.CLOSE_UNRATED: close_unrated,
        Action.NOTE: lambda o: services.work_order_note(
            actor=f(wo.dispatcher), order=o, public_note="我们正在跟进"
        ),
        Action.MERGE: lambda o: services.work_order_merge(
            actor=f(wo.dispatcher), parent=wo.reload(parent), children=[o]
        ),
    }  # fmt: skip


@pytest.mark.parametrize("state", list(State))
def test_transitions__every_action_from_every_state(
    wo: OrderWorld, clock: time_machine.Coordinates, state: State
) -> None:
    order = wo.order_in(state)
    attempts = _attempts(wo, clock)
    assert set(attempts) == set(TRANSITIONS)
    problems: list[str] = []
    for action, attempt in attempts.items():
        spec = TRANSITIONS[action]
        before = (
            WorkOrderEvent.objects.filter(order=order).count(),
            AuditEvent.objects.count(),
            OutboxMessage.objects.count(),
        )
        savepoint = transaction.savepoint()
        try:
            attempt(wo.reload(order))
        except Conflict as exc:
            if state in spec.sources:
                problems.append(f"{state} × {action}: refused ({exc.code}: {exc.message})")
            elif exc.code != "work_order.illegal_transition":
                problems.append(f"{state} × {action}: {exc.code} instead of illegal_transition")
            after = (
                WorkOrderEvent.objects.filter(order=order).count(),
                AuditEvent.objects.count(),
                OutboxMessage.objects.count(),
            )
            if after != before:
                problems.append(f"{state} × {action}: refused but wrote {before} → {after}")
        else:
            if state not in spec.sources:
                problems.append(f"{state} × {action}: allowed, the table says no")
            elif action != Action.WARN:
                now = wo.reload(order).state
                expected = spec.target or state
                if now != expected:
                    problems.append(f"{state} × {action}: ended in {now}, expected {expected}")
        finally:
            transaction.savepoint_rollback(savepoint)
    assert problems == []
