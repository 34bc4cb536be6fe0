"""The loop and its side paths through the services, and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from sanan.audit.models import AuditEvent
from sanan.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from sanan.workorders import access, services
from sanan.workorders.models import (
    ExtensionStatus,
    OutboxMessage,
    WorkOrder,
    WorkOrderEvent,
)
from sanan.workorders.state import State
from tests.workorders.world import OrderWorld, at


def _actions(order: WorkOrder) -> list[str]:
    return list(order.events.order_by("at", "id").values_list("action", flat=True))


def test_work_order__every_transition__writes_an_event_and_an_audit_record(
    wo: OrderWorld,
) -> None:
    order = wo.order_in(State.ARCHIVED)
    assert _actions(order) == [
        "submit", "dispatch", "sign", "contact", "start", "finish", "callback", "archive"
    ]  # fmt: skip
    audited = list(
        AuditEvent.objects.filter(object_type="workorders.workorder", object_id=str(order.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert audited == [f"work_order.{a}" for a in _actions(order)]
    assert order.version == 8  # one per transition after intake
    events = list(order.events.order_by("at", "id"))
    assert [(e.from_state, e.to_state) for e in events[1:4]] == [
        ("registered", "dispatched"), ("dispatched", "signed"), ("signed", "contacted")
    ]  # fmt: skip


def test_work_order_event__is_immutable(wo: OrderWorld) -> None:
    event = WorkOrderEvent.objects.get(order=wo.submit())
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        WorkOrderEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(TypeError):
        WorkOrderEvent.objects.filter(pk=event.pk).delete()


def test_work_order__sign__records_whether_it_was_on_time(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.DISPATCHED)
    clock.shift(dt.timedelta(hours=3))  # due at 12:00, signed at 13:00
    services.work_order_sign(actor=wo.fresh(wo.handler), order=order)
    event = order.events.get(action="sign")
    assert event.data == {"due_at": "2026-11-25T12:00:00+08:00", "on_time": False}
    order = wo.reload(order)
    assert (order.due_stage, order.due_at) == ("contact", order.contact_due_at)


def test_work_order__stale_copy__conflict_not_a_double_action(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    mine, theirs = wo.reload(order), wo.reload(order)
    services.work_order_sign(actor=wo.fresh(wo.handler), order=mine)
    with translation.override("en"), pytest.raises(Conflict) as caught:
        services.work_order_return(
            actor=wo.fresh(wo.handler), order=theirs, reason_code="wrong_place"
        )
    assert caught.value.code == "work_order.conflict"
    assert "Signed for" in str(caught.value.message)  # says what the order became
    with pytest.raises(Conflict) as caught:
        services.work_order_contact(
            actor=wo.fresh(wo.handler), order=wo.reload(order), expected_version=order.version
        )
    assert caught.value.code == "work_order.conflict"  # the client saw an older version
    assert _actions(order) == ["submit", "dispatch", "sign"]


# --- return and ruling ---------------------------------------------------------------------------


def test_work_order__return__needs_a_reason_code(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    with pytest.raises(DomainError) as caught:
        services.work_order_return(actor=wo.fresh(wo.handler), order=order, reason_code="")
    assert caught.value.code == "work_order.return_needs_reason"
    assert caught.value.status_code == 400
    assert wo.reload(order).state == State.DISPATCHED


def test_work_order__return_then_ruling__redispatch_to_another_organisation(
    wo: OrderWorld,
) -> None:
    order = wo.order_in(State.DISPATCHED)
    services.work_order_return(
        actor=wo.fresh(wo.handler), order=order, reason_code="overlapping_mandates",
        reason="路灯属城管",
    )  # fmt: skip
    order = wo.reload(order)
    assert order.state == State.RETURNED
    assert order.due_at is None
    assert OutboxMessage.objects.filter(
        order=order, template="work_order.returned", recipient_action="work_order.rule"
    ).exists()
    with pytest.raises(DomainError) as caught:
        services.work_order_rule(
            actor=wo.fresh(wo.dispatcher), order=order, decision="redispatch", reason="x",
            lead_organisation=wo.housing,
        )  # fmt: skip
    assert caught.value.code == "work_order.ruling_same_organisation"
    services.work_order_rule(
        actor=wo.fresh(wo.dispatcher), order=order, decision="redispatch",
        reason="经审定属城管职责", lead_organisation=wo.urban,
    )  # fmt: skip
    order = wo.reload(order)
    assert order.state == State.DISPATCHED
    assert order.lead_organisation == wo.urban
    assert not access.can_see(wo.fresh(wo.handler), order)
    services.work_order_sign(actor=wo.fresh(wo.urban_handler), order=order)
    assert wo.reload(order).state == State.SIGNED


def test_work_order__ruling_force__sends_it_back_and_it_cannot_be_returned_again(
    wo: OrderWorld,
) -> None:
    order = wo.order_in(State.RETURNED)
    services.work_order_rule(
        actor=wo.fresh(wo.dispatcher), order=order, decision="force", reason="属地管理，由住建办理"
    )
    order = wo.reload(order)
    assert order.state == State.DISPATCHED
    assert order.lead_organisation == wo.housing
    with pytest.raises(Conflict) as caught:
        services.work_order_return(
            actor=wo.fresh(wo.handler), order=order, reason_code="unclear_ownership"
        )
    assert caught.value.code == "work_order.return_refused"
    with pytest.raises(DomainError) as caught:
        services.work_order_rule(
            actor=wo.fresh(wo.dispatcher), order=order, decision="force", reason="again"
        )
    assert caught.value.code == "work_order.illegal_transition"


def test_work_order__rule__needs_a_reason_and_the_rule_permission(wo: OrderWorld) -> None:
    order = wo.order_in(State.RETURNED)
    with pytest.raises(DomainError) as caught:
        services.work_order_rule(
            actor=wo.fresh(wo.dispatcher), order=order, decision="force", reason=" "
        )
    assert caught.value.code == "work_order.ruling_needs_reason"
    with pytest.raises(PermissionDenied):
        services.work_order_rule(
            actor=wo.fresh(wo.leader), order=order, decision="force", reason="属地"
        )


# --- transfer -----------------------------------------------------------------------------------


def test_work_order__transfer_by_the_desk__new_organisation_new_clock(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    clock.shift(dt.timedelta(days=1))
    services.work_order_transfer(
        actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.urban, reason="职能调整"
    )
    order = wo.reload(order)
    assert order.state == State.DISPATCHED
    assert order.lead_organisation == wo.urban
    assert order.sign_due_at == at(2026, 11, 26, 12, 0)
    assert order.signed_at is None
    assert not access.can_see(wo.fresh(wo.handler), order)
    assert OutboxMessage.objects.filter(
        order=order, template="work_order.transferred_away", recipient_organisation=wo.housing
    ).exists()


def test_work_order__transfer_by_the_lead__only_down_to_its_own_units(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    with pytest.raises(PermissionDenied) as caught:
        services.work_order_transfer(
            actor=wo.fresh(wo.handler), order=order, lead_organisation=wo.urban, reason="不归我们"
        )
    assert caught.value.code == "work_order.transfer_outside_organisation"
    services.work_order_transfer(
        actor=wo.fresh(wo.handler), order=order, lead_organisation=wo.housing_unit,
        reason="交物业科办理",
    )  # fmt: skip
    order = wo.reload(order)
    assert order.lead_organisation == wo.housing_unit
    services.work_order_sign(actor=wo.fresh(wo.unit_handler), order=order)


def test_work_order__transfer__needs_a_reason(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    with pytest.raises(DomainError) as caught:
        services.work_order_transfer(
            actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.urban, reason=""
        )
    assert caught.value.code == "work_order.transfer_needs_reason"


# --- extensions ---------------------------------------------------------------------------------


def test_work_order__extension__approval_pauses_the_finish_clock(wo: OrderWorld) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    due = order.finish_due_at
    assert due == at(2026, 12, 4, 10, 0)
    ext = services.work_order_request_extension(
        actor=wo.fresh(wo.handler), order=order, days=3, reason="等待供电局停电检修"
    )
    assert ext.status == ExtensionStatus.PENDING
    with pytest.raises(Conflict) as caught:
        services.work_order_request_extension(
            actor=wo.fresh(wo.handler), order=wo.reload(order), days=1, reason="again"
        )
    assert caught.value.code == "work_order.extension_pending"
    ext = services.work_order_decide_extension(
        actor=wo.fresh(wo.dispatcher), order=wo.reload(order), approve=True, granted_days=2
    )
    assert (ext.status, ext.granted_days) == (ExtensionStatus.APPROVED, 2)
    order = wo.reload(order)
    assert order.finish_due_at == at(2026, 12, 8, 10, 0)  # Fri + 2 working days
    assert order.due_at == order.finish_due_at
    assert order.paused_minutes == 900


def test_work_order__extension__refused_keeps_the_deadline(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    services.work_order_request_extension(
        actor=wo.fresh(wo.handler), order=order, days=2, reason="需要协调"
    )
    services.work_order_decide_extension(
        actor=wo.fresh(wo.dispatcher), order=wo.reload(order), approve=False, note="按期办理"
    )
    assert wo.reload(order).finish_due_at == order.finish_due_at
    with pytest.raises(Conflict) as caught:
        services.work_order_decide_extension(
            actor=wo.fresh(wo.dispatcher), order=wo.reload(order), approve=True
        )
    assert caught.value.code == "work_order.no_pending_extension"


def test_work_order__extension__must_be_asked_before_the_deadline(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    clock.move_to(order.finish_due_at + dt.timedelta(minutes=1))
    with pytest.raises(Conflict) as caught:
        services.work_order_request_extension(
            actor=wo.fresh(wo.handler), order=order, days=2, reason="来不及了"
        )
    assert caught.value.code == "work_order.extension_too_late"


def test_work_order__finish__withdraws_a_pending_extension(wo: OrderWorld) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    ext = services.work_order_request_extension(
        actor=wo.fresh(wo.handler), order=order, days=2, reason="x"
    )
    services.work_order_finish(
        actor=wo.fresh(wo.handler), order=wo.reload(order), public_note="好了"
    )
    ext.refresh_from_db()
    assert ext.status == ExtensionStatus.WITHDRAWN


def test_work_order__finish__needs_a_reply_for_the_reporter(wo: OrderWorld) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    with pytest.raises(DomainError) as caught:
        services.work_order_finish(actor=wo.fresh(wo.handler), order=order, public_note="")
    assert caught.value.code == "work_order.finish_needs_reply"


# --- call-back, re-handling, closing ------------------------------------------------------------


def test_work_order__callback_dissatisfied__reopens_to_the_same_organisation(
    wo: OrderWorld,
) -> None:
    order = wo.order_in(State.FINISHED)
    services.work_order_callback(
        actor=wo.fresh(wo.resident), order=order, resolution="partly",
        satisfaction="dissatisfied", comment="灯还是一闪一闪的",
    )  # fmt: skip
    order = wo.reload(order)
    assert order.state == State.DISPATCHED
    assert order.lead_organisation == wo.housing
    assert order.rehandle_count == 1
    assert order.return_locked
    assert _actions(order)[-2:] == ["callback", "rehandle"]
    callback = order.events.get(action="callback")
    assert callback.data["by_reporter"] is True
    assert callback.to_state == State.CALLBACK
    assert OutboxMessage.objects.filter(
        order=order, template="work_order.rehandle", recipient_action="work_order.supervise"
    ).exists()
    # handled again, then rated well, then archived
    order = wo.drive(order, State.FINISHED)
    services.work_order_callback(
        actor=wo.fresh(wo.resident), order=order, resolution="solved", satisfaction="satisfied"
    )
    order = wo.drive(wo.reload(order), State.ARCHIVED)
    assert order.satisfaction == "satisfied"
    assert order.rehandle_count == 1


def test_work_order__callback_not_solved__reopens_even_when_satisfied(wo: OrderWorld) -> None:
    order = wo.order_in(State.FINISHED)
    services.work_order_callback(
        actor=wo.fresh(wo.dispatcher), order=order, resolution="not_solved", satisfaction="fairly"
    )
    assert wo.reload(order).state == State.DISPATCHED


def test_work_order__callback__only_the_reporter_or_the_desk(wo: OrderWorld) -> None:
    order = wo.order_in(State.FINISHED)
    with pytest.raises(PermissionDenied):
        services.work_order_callback(
            actor=wo.fresh(wo.commissioner_a), order=order, resolution="solved",
            satisfaction="satisfied",
        )  # fmt: skip
    with pytest.raises(NotFound):
        services.work_order_callback(
            actor=wo.fresh(wo.commissioner_b), order=order, resolution="solved",
            satisfaction="satisfied",
        )  # fmt: skip
    with pytest.raises(DomainError) as caught:
        services.work_order_callback(
            actor=wo.fresh(wo.resident), order=order, resolution="solved", satisfaction="not_rated"
        )
    assert caught.value.code == "work_order.rating_invalid"


def test_work_order__close_unrated__only_after_the_rating_window(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.FINISHED)
    with pytest.raises(Conflict) as caught:
        services.work_order_close_unrated(actor="sanan", order=order)
    assert caught.value.code == "work_order.rating_window_open"
    clock.shift(dt.timedelta(days=services.rating_days()))
    services.work_order_close_unrated(actor="sanan", order=wo.reload(order))
    order = wo.reload(order)
    assert order.state == State.ARCHIVED
    assert order.satisfaction == "not_rated"
    assert order.resolution == ""


def test_work_order__system_actor__may_only_do_system_rows(wo: OrderWorld) -> None:
    order = wo.order_in(State.DISPATCHED)
    with pytest.raises(PermissionDenied):
        services.work_order_sign(actor="sanan", order=order)


# --- notes --------------------------------------------------------------------------------------


def test_work_order__note__the_reporter_writes_to_the_handlers(wo: OrderWorld) -> None:
    order = wo.order_in(State.SIGNED)
    with pytest.raises(DomainError) as caught:
        services.work_order_note(actor=wo.fresh(wo.resident), order=order, internal_note="secret")
    assert caught.value.code == "work_order.note_internal_forbidden"
    with pytest.raises(DomainError) as caught:
        services.work_order_note(actor=wo.fresh(wo.resident), order=order)
    assert caught.value.code == "work_order.note_empty"
    event = services.work_order_note(
        actor=wo.fresh(wo.resident), order=order, public_note="晚上七点后在家"
    )
    assert event.to_state == State.SIGNED
    assert OutboxMessage.objects.filter(
        event=event, template="work_order.reporter_note", recipient_organisation=wo.housing
    ).exists()
    # a note does not change the version: the handler's copy is still current
    services.work_order_contact(actor=wo.fresh(wo.handler), order=order)


# --- who may do what ----------------------------------------------------------------------------


def test_work_order__handlers__see_only_what_is_assigned_to_them(wo: OrderWorld) -> None:
    order = wo.submit()
    assert not access.can_see(wo.fresh(wo.handler), order)  # not dispatched yet
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.housing,
        co_handlers=[wo.urban],
    )  # fmt: skip
    order = wo.reload(order)
    assert access.can_see(wo.fresh(wo.handler), order)
    assert access.can_see(wo.fresh(wo.urban_handler), order)  # co-handler
    assert not access.can_see(wo.fresh(wo.unit_handler), order)
    with pytest.raises(PermissionDenied):  # co-handlers help; the lead signs
        services.work_order_sign(actor=wo.fresh(wo.urban_handler), order=order)
    with pytest.raises(NotFound):
        services.work_order_sign(actor=wo.fresh(wo.unit_handler), order=order)
    services.work_order_note(
        actor=wo.fresh(wo.urban_handler), order=order, internal_note="我们配合断电"
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("resident", []),
        ("commissioner_a", ["note"]),  # the reporter of this discovery
        ("handler", ["sign", "return", "transfer", "note"]),
        ("urban_handler", ["note"]),
        ("dispatcher", ["transfer", "chase", "supervise", "merge", "note"]),
        ("leader", ["chase", "supervise"]),
        ("admin", ["sign", "return", "transfer", "chase", "supervise", "merge", "note"]),
    ],
)
def test_work_order__allowed_actions__per_role(
    wo: OrderWorld, who: str, expected: list[str]
) -> None:
    order = wo.submit(actor=wo.commissioner_a, channel="discovery")
    services.work_order_dispatch(
        actor=wo.fresh(wo.dispatcher), order=order, lead_organisation=wo.housing,
        co_handlers=[wo.urban],
    )  # fmt: skip
    user = wo.fresh(getattr(wo, who))
    assert access.allowed_actions(user, wo.reload(order)) == expected


def test_work_order__commissioner_b__does_not_see_courtyard_a(wo: OrderWorld) -> None:
    order = wo.submit()
    assert access.can_see(wo.fresh(wo.commissioner_a), order)
    assert not access.can_see(wo.fresh(wo.commissioner_b), order)
    with pytest.raises(NotFound):
        services.work_order_note(actor=wo.fresh(wo.commissioner_b), order=order, public_note="?")
