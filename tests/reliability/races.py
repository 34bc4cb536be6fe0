"""Two people doing conflicting things to one order at the same instant, through the API: the
scenarios and what must hold after each. Run in-process on PostgreSQL and, through
``race_probe``, on a SQLite file database (``test_races.py``).

Each scenario returns a JSON-able outcome: the answers (HTTP status, stable code, message), the
order's state and version before and after, and the events and audit rows written for the order
during the race; ``check`` asserts, for each scenario, that exactly one person won, the other
was told why with a 409 and a stable code, and that what is stored is the winner's change, once
(one event, one audit row, the version moved by one)."""

from __future__ import annotations

from typing import Any

from sanan.accounts.roles import Role
from sanan.audit.models import AuditEvent
from sanan.workorders.models import WorkOrder, WorkOrderEvent
from sanan.workorders.state import State
from tests.factories import UserFactory
from tests.workorders.race import ApiAnswer, ApiCall, race_api
from tests.workorders.world import OrderWorld

# What a loser may be told: someone acted first (the version moved under it), or the order is
# already in a state where the action makes no sense (the winner's commit came before its read).
LOSER_CODES = {"work_order.conflict", "work_order.illegal_transition"}
ORDER_TYPE = WorkOrder._meta.label_lower


def _url(order: WorkOrder, action: str) -> str:
    return f"/api/v1/orders/{order.pk}/{action}/"


def _race(order: WorkOrder, calls: list[ApiCall]) -> dict[str, Any]:
    """Send ``calls`` at once and describe what they left behind."""
    order = WorkOrder.objects.get(pk=order.pk)
    last_event = WorkOrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    answers = race_api(calls)
    after = WorkOrder.objects.get(pk=order.pk)
    events = WorkOrderEvent.objects.filter(order_id=order.pk, pk__gt=last_event).order_by("pk")
    audits = AuditEvent.objects.filter(
        object_type=ORDER_TYPE, object_id=str(order.pk), seq__gt=last_seq
    ).order_by("seq")
    return {
        "answers": [a.as_json() if isinstance(a, ApiAnswer) else a for a in answers],
        "state_before": order.state,
        "version_before": order.version,
        "state": after.state,
        "version": after.version,
        "events": list(events.values_list("action", flat=True)),
        "audit": [a.removeprefix("work_order.") for a in audits.values_list("action", flat=True)],
        "lead": after.lead_organisation_id,
        "resolution": after.resolution,
        "satisfaction": after.satisfaction,
        "chase_count": after.chase_count,
    }


def dispatch_by_two_dispatchers(wo: OrderWorld) -> dict[str, Any]:
    """Two dispatchers give the same new order to two different departments."""
    second = UserFactory(roles=[(Role.DISPATCHER, wo.community)])
    order = wo.submit()
    assert order.state == State.REGISTERED, order.state
    calls = [
        ApiCall(wo.dispatcher.pk, _url(order, "dispatch"),
                {"lead_organisation": wo.housing.pk, "reason": "路灯归住建局管"}, order.version),
        ApiCall(second.pk, _url(order, "dispatch"),
                {"lead_organisation": wo.urban.pk, "reason": "路灯归城管局管"}, order.version),
    ]  # fmt: skip
    return {**_race(order, calls), "choices": [wo.housing.pk, wo.urban.pk]}


def return_against_sign(wo: OrderWorld) -> dict[str, Any]:
    """One handler of the department signs for the order while a colleague returns it (退单)."""
    colleague = UserFactory(roles=[(Role.HANDLER, wo.community, wo.housing)])
    order = wo.order_in(State.DISPATCHED)
    calls = [
        ApiCall(wo.handler.pk, _url(order, "sign"), {"note": "我们来办"}, order.version),
        ApiCall(colleague.pk, _url(order, "return"),
                {"reason_code": "wrong_place", "reason": "不是我们的辖区"}, order.version),
    ]  # fmt: skip
    return {**_race(order, calls), "targets": [State.SIGNED, State.RETURNED]}


def rating_by_reporter_and_desk(wo: OrderWorld) -> dict[str, Any]:
    """The resident rates the finished order in the app while the desk records a rating from
    a phone call-back (回访): two channels, one rating."""
    order = wo.order_in(State.FINISHED)
    calls = [
        ApiCall(wo.resident.pk, _url(order, "callback"),
                {"resolution": "solved", "satisfaction": "satisfied", "comment": "修好了"},
                order.version),
        ApiCall(wo.dispatcher.pk, _url(order, "callback"),
                {"resolution": "partly", "satisfaction": "fairly", "comment": "电话回访"},
                order.version),
    ]  # fmt: skip
    return {**_race(order, calls), "ratings": [["solved", "satisfied"], ["partly", "fairly"]]}


def finish_against_chase(wo: OrderWorld) -> dict[str, Any]:
    """The handler finishes the order while the leader chases it (催办)."""
    order = wo.order_in(State.IN_PROGRESS)
    calls = [
        ApiCall(wo.handler.pk, _url(order, "finish"), {"public_note": "灯泡已更换"},
                order.version),
        ApiCall(wo.leader.pk, _url(order, "chase"), {"note": "请尽快处理"}),
    ]  # fmt: skip
    return _race(order, calls)


SCENARIOS = {
    "dispatch": dispatch_by_two_dispatchers,
    "return_vs_sign": return_against_sign,
    "rating": rating_by_reporter_and_desk,
    "finish_vs_chase": finish_against_chase,
}


def run_all(wo: OrderWorld) -> dict[str, dict[str, Any]]:
    return {name: scenario(wo) for name, scenario in SCENARIOS.items()}


# --- what must hold ------------------------------------------------------------------------


def _one_winner(name: str, outcome: dict[str, Any]) -> int:
    """The index of the single winner; the loser was told why, with a 409 and a stable code."""
    answers = outcome["answers"]
    assert all(isinstance(a, dict) for a in answers), f"{name}: {answers}"
    won = [i for i, a in enumerate(answers) if a["code"] == "ok"]
    assert len(won) == 1, f"{name}: exactly one may win: {answers}"
    for i, a in enumerate(answers):
        if i != won[0]:
            assert a["status"] == 409, f"{name}: {a}"
            assert a["code"] in LOSER_CODES, f"{name}: {a}"
            assert a["message"].strip(), f"{name}: the loser is told why: {a}"
    return won[0]


def _once(name: str, outcome: dict[str, Any], action: str) -> None:
    assert outcome["events"] == [action], f"{name}: {outcome['events']}"
    assert outcome["audit"] == [action], f"{name}: {outcome['audit']}"
    assert outcome["version"] == outcome["version_before"] + 1, f"{name}: {outcome}"


def check(name: str, outcome: dict[str, Any]) -> None:
    if name == "dispatch":
        winner = _one_winner(name, outcome)
        _once(name, outcome, "dispatch")
        assert outcome["state"] == State.DISPATCHED
        assert outcome["lead"] == outcome["choices"][winner], "the winner's department is kept"
    elif name == "return_vs_sign":
        winner = _one_winner(name, outcome)
        _once(name, outcome, ["sign", "return"][winner])
        assert outcome["state"] == outcome["targets"][winner]
    elif name == "rating":
        winner = _one_winner(name, outcome)
        _once(name, outcome, "callback")
        assert outcome["state"] == State.CALLBACK
        assert [outcome["resolution"], outcome["satisfaction"]] == outcome["ratings"][winner]
    elif name == "finish_vs_chase":
        # A chase is a flag, not a change of state: chased first, then finished, is a history
        # that may happen, and then both succeed. What may not happen is a chase recorded on
        # a finished order, or a chase lost.
        finish, chase = outcome["answers"]
        assert finish["code"] == "ok", f"{name}: the finish never loses to a chase: {finish}"
        assert outcome["state"] == State.FINISHED
        assert outcome["version"] == outcome["version_before"] + 1
        if chase["code"] == "ok":
            assert outcome["events"] == ["chase", "finish"], outcome["events"]
            assert outcome["audit"] == ["chase", "finish"], outcome["audit"]
            assert outcome["chase_count"] == 1
        else:
            assert chase["status"] == 409, chase
            assert chase["code"] in LOSER_CODES, chase
            assert chase["message"].strip()
            assert outcome["events"] == ["finish"], outcome
            assert outcome["audit"] == ["finish"], outcome
            assert outcome["chase_count"] == 0
    else:
        raise AssertionError(f"unknown scenario {name}")


def check_all(outcomes: dict[str, dict[str, Any]]) -> None:
    assert set(outcomes) == set(SCENARIOS)
    for name, outcome in outcomes.items():
        check(name, outcome)
