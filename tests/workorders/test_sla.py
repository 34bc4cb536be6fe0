"""Deadlines on the Chinese working calendar and the SLA sweep."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from sanan.audit.models import AuditEvent
from sanan.workorders import services
from sanan.workorders.models import (
    CalendarSource,
    DayKind,
    OutboxMessage,
    WorkCalendarDay,
    WorkCalendarYear,
    WorkingPeriod,
)
from sanan.workorders.seed import seed_calendar
from sanan.workorders.sla import (
    WorkCalendar,
    add_working_minutes,
    calendar_cache,
    calendar_status,
    work_calendar,
    working_minutes_between,
)
from sanan.workorders.state import State
from sanan.workorders.sweep import sweep
from tests.workorders.world import OrderWorld, at

# --- the calendar -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (at(2026, 11, 25, 10), 90, at(2026, 11, 25, 11, 30)),
        (at(2026, 11, 25, 11), 90, at(2026, 11, 25, 14, 0)),  # lunch 12:00–13:30 skipped
        (at(2026, 11, 25, 12, 15), 30, at(2026, 11, 25, 14, 0)),  # started during lunch
        (at(2026, 11, 27, 17), 120, at(2026, 11, 30, 10, 0)),  # Friday → Monday
        (at(2026, 11, 28, 22), 1, at(2026, 11, 30, 9, 1)),  # reported on a Saturday night
        (at(2026, 11, 25, 9), 180, at(2026, 11, 25, 12, 0)),  # ends exactly at lunch
        # National Day 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked
        (at(2026, 9, 30, 17), 120, at(2026, 10, 8, 10, 0)),
        (at(2026, 10, 9, 17), 120, at(2026, 10, 10, 10, 0)),
        (at(2026, 9, 19, 10), 30, at(2026, 9, 20, 9, 30)),
    ],
)
def test_sla__add_working_minutes__on_the_chinese_calendar(
    start: dt.datetime, minutes: int, expected: dt.datetime
) -> None:
    assert add_working_minutes(start, minutes) == expected
    assert working_minutes_between(start, expected) == minutes


@pytest.mark.django_db
def test_sla__working_minutes_between__counts_only_working_time() -> None:
    assert working_minutes_between(at(2026, 11, 27, 9), at(2026, 11, 30, 18)) == 900
    assert working_minutes_between(at(2026, 10, 1, 0), at(2026, 10, 8, 0)) == 0
    assert working_minutes_between(at(2026, 11, 30, 18), at(2026, 11, 27, 9)) == -900
    assert work_calendar().day_minutes == 450


@pytest.mark.django_db
def test_sla__seeded_from_the_package__every_year_it_knows() -> None:
    years = set(WorkCalendarYear.objects.values_list("year", flat=True))
    assert set(range(2004, 2027)) <= years
    spring = WorkCalendarDay.objects.get(date=dt.date(2026, 2, 17))
    assert (spring.kind, spring.name, spring.source) == (DayKind.HOLIDAY, "春节", "package")
    assert WorkCalendarDay.objects.get(date=dt.date(2026, 10, 10)).kind == DayKind.WORKDAY
    assert seed_calendar() == []  # idempotent


@pytest.mark.django_db
def test_sla__a_year_the_package_does_not_know__falls_back_and_says_so() -> None:
    status = calendar_status(today=dt.date(2026, 11, 25))
    assert status.missing_years == [2027]
    assert not status.ok
    assert "2027" in status.message
    # 1 January 2027 is a Friday: counted as a working day until somebody enters the holidays
    assert add_working_minutes(at(2026, 12, 31, 17), 120) == at(2027, 1, 1, 10, 0)


@pytest.mark.django_db
def test_sla__holidays_entered_by_hand__are_used_at_once() -> None:
    WorkCalendarDay.objects.create(
        date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦", source=CalendarSource.MANUAL
    )
    WorkCalendarYear.objects.create(year=2027, source=CalendarSource.MANUAL, note="国办发明电")
    assert add_working_minutes(at(2026, 12, 31, 17), 120) == at(2027, 1, 4, 10, 0)
    assert calendar_status(today=dt.date(2026, 11, 25)).missing_years == []


@pytest.mark.django_db
def test_sla__working_hours_are_data() -> None:
    WorkingPeriod.objects.all().delete()
    WorkingPeriod.objects.create(starts=dt.time(8, 30), ends=dt.time(12, 0))
    WorkingPeriod.objects.create(starts=dt.time(14, 0), ends=dt.time(17, 30))
    assert work_calendar().day_minutes == 420
    assert add_working_minutes(at(2026, 11, 25, 11, 30), 60) == at(2026, 11, 25, 14, 30)


def test_sla__calendar_snapshot__is_pure_and_reusable() -> None:
    cal = WorkCalendar(holidays=frozenset({dt.date(2026, 11, 26)}))
    assert cal.add_working_minutes(at(2026, 11, 25, 17), 120) == at(2026, 11, 27, 10, 0)
    assert not cal.is_working_day(dt.date(2026, 11, 26))
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_minutes(at(2026, 11, 25, 17), -1)
    assert calendar_cache is not None


# --- deadlines of an order -----------------------------------------------------------------------


def test_work_order__emergency__counts_around_the_clock(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(2026, 11, 27, 22, 0))  # Friday night
    order = wo.order_in(State.DISPATCHED, category=wo.waterlogging, answers={"depth_cm": 40})
    assert order.emergency
    assert order.sign_due_at == at(2026, 11, 27, 22, 15)
    assert order.finish_due_at == at(2026, 11, 28, 0, 0)


def test_work_order__water_outage__24_hours(wo: OrderWorld) -> None:
    order = wo.order_in(
        State.DISPATCHED,
        category=wo.water_outage,
        answers={"since": "2026-11-25T08:00", "scope": "building"},
    )
    assert not order.emergency
    assert order.finish_due_at == at(2026, 11, 26, 10, 0)


# --- the sweep ---------------------------------------------------------------------------------


def _escalations(order_pk: int) -> list[str]:
    from sanan.workorders.models import WorkOrderEvent

    return list(
        WorkOrderEvent.objects.filter(
            order_id=order_pk, action__in=["warn", "chase", "supervise"]
        ).values_list("action", flat=True)
    )


def test_sweep__warns_chases_supervises__each_once(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.DISPATCHED)  # sign for by 12:00; warning at 75 % = 11:30
    assert order.escalation_at == at(2026, 11, 25, 11, 30)
    clock.move_to(at(2026, 11, 25, 11, 29))
    assert sweep().warned == 0
    clock.move_to(at(2026, 11, 25, 11, 31))
    assert sweep().warned == 1
    assert sweep().warned == 0
    assert _escalations(order.pk) == ["warn"]
    clock.move_to(at(2026, 11, 25, 12, 1))
    result = sweep()
    assert (result.warned, result.chased, result.supervised) == (0, 1, 0)
    order = wo.reload(order)
    assert order.chase_count == 1
    assert order.escalation_level == 2
    # supervision two working days after the deadline: Friday 12:00
    assert order.escalation_at == at(2026, 11, 27, 12, 0)
    clock.move_to(at(2026, 11, 27, 11, 59))
    assert sweep().supervised == 0
    clock.move_to(at(2026, 11, 27, 12, 0))
    assert sweep().supervised == 1
    clock.move_to(at(2026, 12, 31, 12, 0))
    assert sweep().escalated_ids == []
    assert _escalations(order.pk) == ["warn", "chase", "supervise"]
    order = wo.reload(order)
    assert (order.escalation_level, order.escalation_at, order.supervision_level) == (3, None, 1)
    templates = set(OutboxMessage.objects.filter(order=order).values_list("template", flat=True))
    assert {"work_order.deadline_near", "work_order.chased", "work_order.supervised"} <= templates
    assert AuditEvent.objects.filter(action="work_order.sla_escalated").count() == 3


def test_sweep__escalates_on_working_days_only(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(2026, 11, 27, 17, 0))  # Friday 17:00: sign for by Monday 10:00
    order = wo.order_in(State.DISPATCHED)
    assert order.sign_due_at == at(2026, 11, 30, 10, 0)
    assert order.escalation_at == at(2026, 11, 30, 9, 30)
    clock.move_to(at(2026, 11, 29, 23, 0))  # Sunday night: nothing is late yet
    assert sweep().escalated_ids == []
    clock.move_to(at(2026, 11, 30, 10, 1))
    result = sweep()
    assert (result.warned, result.chased) == (1, 1)  # a late sweep catches up, once per level
    assert _escalations(order.pk) == ["warn", "chase"]


def test_sweep__a_new_stage_starts_a_new_count(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.DISPATCHED)
    clock.move_to(at(2026, 11, 25, 12, 30))
    sweep()
    services.work_order_sign(actor=wo.fresh(wo.handler), order=wo.reload(order))
    order = wo.reload(order)
    assert (order.due_stage, order.escalation_level) == ("contact", 0)
    assert order.escalation_at == at(2026, 11, 25, 17, 7)  # 75 % of one working day
    # contacted → in progress keeps the finish clock and what it has already escalated
    services.work_order_contact(actor=wo.fresh(wo.handler), order=order)
    clock.move_to(at(2026, 12, 3, 17, 0))
    assert sweep().warned == 1
    services.work_order_start(actor=wo.fresh(wo.handler), order=wo.reload(order))
    assert wo.reload(order).escalation_level == 1
    assert sweep().warned == 0


def test_sweep__an_approved_extension_moves_the_escalation(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    order = wo.order_in(State.IN_PROGRESS)
    services.work_order_request_extension(
        actor=wo.fresh(wo.handler), order=order, days=5, reason="等待材料"
    )
    services.work_order_decide_extension(
        actor=wo.fresh(wo.dispatcher), order=wo.reload(order), approve=True
    )
    assert wo.reload(order).finish_due_at == at(2026, 12, 11, 10, 0)  # 7 + 5 working days
    clock.move_to(at(2026, 12, 4, 10, 1))  # the original deadline has passed: not late
    assert sweep().escalated_ids == []
    clock.move_to(at(2026, 12, 8, 10, 1))  # 75 % of the 12 working days
    assert sweep().warned == 1
    clock.move_to(at(2026, 12, 11, 10, 1))
    assert sweep().chased == 1


def test_sweep__closes_unrated_and_archives_rated_orders(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    unrated = wo.order_in(State.FINISHED)
    rated = wo.order_in(State.CALLBACK)
    clock.shift(dt.timedelta(days=3, minutes=1))
    result = sweep()
    assert (result.closed_unrated, result.archived) == (0, 1)
    clock.shift(dt.timedelta(days=4))
    assert sweep().closed_unrated == 1
    assert wo.reload(unrated).satisfaction == "not_rated"
    assert wo.reload(rated).satisfaction == "satisfied"
    assert wo.reload(unrated).state == wo.reload(rated).state == State.ARCHIVED


def test_sweep_sla__command_reports_what_it_did(
    wo: OrderWorld, clock: time_machine.Coordinates
) -> None:
    wo.order_in(State.DISPATCHED)
    clock.move_to(at(2026, 11, 25, 12, 1))
    out, err = io.StringIO(), io.StringIO()
    call_command("sweep_sla", stdout=out, stderr=err)
    assert "warned 1, chased 1, supervised 0" in out.getvalue()
    assert "2027" in err.getvalue()  # the calendar lacks next year's holidays
